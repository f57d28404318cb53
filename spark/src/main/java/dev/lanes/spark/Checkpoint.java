package dev.lanes.spark;

import dev.lanes.Tensor;
import dev.lanes.io.SafeTensors;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.Module;
import dev.lanes.optim.Optimizer;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Training checkpoints: one safetensors file per checkpoint, {@code step-<n>.safetensors}, holding the model's state
 * dict ({@code model/<name>}), the optimizer's buffers ({@code optim/<param>/<buffer>}) and, as metadata, the step,
 * the optimizer's per-parameter step counts and its group options. PyTorch reads the file too.
 *
 * <p>Written atomically: to a temporary name, forced to disk, then renamed; a crash mid-write leaves a temporary file
 * that {@link #latest} never considers. {@code latest} also skips a final file that fails to parse or to match the
 * model (copied truncated, say), falling back to the one before. The newest {@code keep} checkpoints are kept.
 */
public final class Checkpoint {
    /** A checkpoint's name; at most 18 digits, so every step parses as a long (a longer one, planted, broke every listing). */
    private static final Pattern NAME = Pattern.compile("step-(\\d{1,18})\\.safetensors");

    private Checkpoint() {
    }

    /** Writes the checkpoint of {@code step} without a MAC; returns its path. */
    public static Path write(Path dir, long step, Module model, Optimizer optimizer, int keep) throws IOException {
        return write(dir, step, model, optimizer, keep, null);
    }

    /**
     * Writes the checkpoint of {@code step}; with a {@code key}, also {@code step-<n>.safetensors.mac}: an HMAC-SHA256
     * over the step and the file's bytes (model, optimizer buffers and metadata), written before the checkpoint is
     * renamed into place, so that a checkpoint planted by anyone without the key is skipped on restore.
     */
    public static Path write(Path dir, long step, Module model, Optimizer optimizer, int keep, byte[] key) throws IOException {
        Files.createDirectories(dir);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("lanes.step", Long.toString(step));
        try (MemoryScope s = MemoryScope.open()) {
            model.stateDict().forEach((k, v) -> tensors.put("model/" + k, v));
            Map<String, Object> od = optimizer.stateDict();
            @SuppressWarnings("unchecked")
            Map<Integer, Map<String, Object>> state = (Map<Integer, Map<String, Object>>) od.get("state");
            state.forEach((param, buffers) -> buffers.forEach((k, v) -> {
                if (v instanceof Tensor t) {
                    tensors.put("optim/" + param + "/" + k, t);
                } else {
                    meta.put("lanes.optim." + param + "." + k, String.valueOf(v));
                }
            }));
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> groups = (List<Map<String, Object>>) od.get("param_groups");
            for (int g = 0; g < groups.size(); g++) {
                for (Map.Entry<String, Object> e : groups.get(g).entrySet()) {
                    if (e.getKey().equals("params")) {
                        meta.put("lanes.groupsize." + g, Integer.toString(((List<?>) e.getValue()).size()));
                    } else { // Adam's betas is a double[]: String.valueOf wrote "[D@1b6d3586", which no restore could read
                        meta.put("lanes.group." + g + "." + e.getKey(), e.getValue() instanceof double[] a ? java.util.Arrays.toString(a) : String.valueOf(e.getValue()));
                    }
                }
            }
            Path tmp = dir.resolve(".step-" + step + ".safetensors.tmp");
            SafeTensors.save(tensors, meta, tmp);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Path target = dir.resolve("step-" + step + ".safetensors");
            if (key != null) {
                Path macTmp = dir.resolve(".step-" + step + ".mac.tmp");
                Files.writeString(macTmp, mac(key, step, tmp));
                Files.move(macTmp, macOf(target), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            // optimizer.stateDict() made copies outside any scope: free them now
            state.values().forEach(b -> b.values().forEach(v -> {
                if (v instanceof Tensor t) {
                    t.close();
                }
            }));
            prune(dir, keep);
            return target;
        }
    }

    /** Checkpoint files in {@code dir}, newest first. */
    public static List<Path> list(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.list(dir)) {
            // regular files only, links not followed: a FIFO of that name blocked every restore in open()
            s.filter(p -> NAME.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                    .forEach(out::add);
        }
        out.sort((a, b) -> Long.compare(stepOf(b), stepOf(a)));
        return out;
    }

    static long stepOf(Path p) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    private static void prune(Path dir, int keep) throws IOException {
        List<Path> all = list(dir);
        for (int i = Math.max(1, keep); i < all.size(); i++) {
            Files.deleteIfExists(all.get(i));
            Files.deleteIfExists(macOf(all.get(i)));
        }
    }

    private static Path macOf(Path checkpoint) {
        return checkpoint.resolveSibling(checkpoint.getFileName() + ".mac");
    }

    /** Bytes a MAC file may have: 64 hex digits and a line end, with room. */
    private static final int MAX_MAC_FILE = 128;

    /** Hex HMAC-SHA256 of "lanes-checkpoint|step|" followed by the file's bytes, streamed. */
    private static String mac(byte[] key, long step, Path file) throws IOException {
        try (java.io.InputStream in = Files.newInputStream(file)) {
            javax.crypto.Mac m = hmac(key, step);
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                m.update(buf, 0, n);
            }
            return java.util.HexFormat.of().formatHex(m.doFinal());
        }
    }

    /** {@link #mac(byte[], long, Path)} of bytes already read. */
    private static String mac(byte[] key, long step, byte[] bytes) {
        javax.crypto.Mac m = hmac(key, step);
        m.update(bytes);
        return java.util.HexFormat.of().formatHex(m.doFinal());
    }

    private static javax.crypto.Mac hmac(byte[] key, long step) {
        try {
            javax.crypto.Mac m = javax.crypto.Mac.getInstance("HmacSHA256");
            m.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
            m.update(("lanes-checkpoint|" + step + "|").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return m;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    /** Throws unless {@code file} has a MAC made with {@code key} for its step. */
    static void verify(Path file, byte[] key) throws IOException {
        verify(file, mac(key, stepOf(file), file));
    }

    private static void verify(Path file, String got) throws IOException {
        Path macFile = macOf(file);
        if (!Files.isRegularFile(macFile, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("no MAC beside it (" + macFile.getFileName() + "): not written by this job");
        }
        String want;
        try (java.io.InputStream in = Files.newInputStream(macFile)) {
            byte[] text = in.readNBytes(MAX_MAC_FILE + 1); // a sparse 100 GB .mac threw OutOfMemoryError past every catch
            if (text.length > MAX_MAC_FILE) {
                throw new IOException("its MAC file " + macFile.getFileName() + " is over " + MAX_MAC_FILE + " bytes");
            }
            want = new String(text, java.nio.charset.StandardCharsets.US_ASCII).trim();
        }
        if (!java.security.MessageDigest.isEqual(want.getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                got.getBytes(java.nio.charset.StandardCharsets.US_ASCII))) {
            throw new IOException("its MAC does not match: written by another job, or changed since");
        }
    }

    /**
     * A checkpoint's bytes, read once: its MAC is checked and its tensors parsed from the same bytes (opening the file
     * again by name after the check let a writer of the folder swap it in between). At most the read limit.
     */
    private static byte[] readOnce(Path file) throws IOException {
        long limit = Math.min(dev.lanes.io.ReadLimits.maxBytes(), Integer.MAX_VALUE - 8);
        try (java.io.InputStream in = Files.newInputStream(file)) {
            byte[] all = in.readNBytes((int) limit + 1);
            if (all.length > limit) {
                throw new IOException("over the read limit of " + limit + " bytes (-Dlanes.io.maxBytes)");
            }
            return all;
        }
    }

    /**
     * Loads the newest checkpoint in {@code dir} that parses and fits {@code model} and {@code optimizer} into them,
     * and returns its step; 0 when there is none (nothing is changed then). {@code log} hears about skipped files; newer
     * ones that could not be restored are renamed {@code <name>.unrestorable} once an older one is, and when there are
     * checkpoints but none restores this throws {@link IllegalStateException} rather than start again from step 0
     * beside them (the new checkpoints, of lower steps, were pruned in their favour).
     */
    public static long restoreLatest(Path dir, Module model, Optimizer optimizer, java.util.function.Consumer<String> log) throws IOException {
        return restoreLatest(dir, model, optimizer, log, null);
    }

    /** {@link #restoreLatest(Path, Module, Optimizer, java.util.function.Consumer)} taking only checkpoints whose MAC {@code key} verifies. */
    public static long restoreLatest(Path dir, Module model, Optimizer optimizer, java.util.function.Consumer<String> log, byte[] key)
            throws IOException {
        List<Path> skipped = new ArrayList<>();
        for (Path p : list(dir)) {
            try {
                byte[] bytes = readOnce(p);
                if (key != null) {
                    verify(p, mac(key, stepOf(p), bytes));
                }
                long step = restore(SafeTensors.parse(bytes, p.toString()), model, optimizer);
                // the newer files that could not be restored go aside: left, they outranked every checkpoint written from
                // here on (same or lower steps), and pruning deleted the new ones
                for (Path s : skipped) {
                    moveAside(s, log);
                }
                return step;
            } catch (IOException | RuntimeException e) {
                log.accept("skipping checkpoint " + p + ": " + e.getMessage());
                skipped.add(p);
            }
        }
        if (!skipped.isEmpty()) { // starting again from step 0 beside them would prune the new checkpoints in their favour
            throw new IllegalStateException("none of the " + skipped.size() + " checkpoints in " + dir + " could be restored (the log says"
                    + " why); move them away to start afresh");
        }
        return 0;
    }

    /** Renames a checkpoint (and its MAC) that could not be restored to {@code <name>.unrestorable}: kept, out of {@link #list}. */
    private static void moveAside(Path checkpoint, java.util.function.Consumer<String> log) throws IOException {
        for (Path p : new Path[] {checkpoint, macOf(checkpoint)}) {
            if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Path aside = p.resolveSibling(p.getFileName() + ".unrestorable");
                Files.move(p, aside, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                log.accept("moved " + p + " aside to " + aside.getFileName());
            }
        }
    }

    /** An option as written: a boolean, a number, or a list of numbers ("[0.9, 0.999]": Adam's betas) as a double[]. */
    private static Object optionValue(String v, String key) {
        if (v.equals("true") || v.equals("false")) {
            return Boolean.valueOf(v);
        }
        try {
            if (v.startsWith("[") && v.endsWith("]")) {
                String inner = v.substring(1, v.length() - 1).trim();
                if (inner.isEmpty()) {
                    return new double[0];
                }
                String[] parts = inner.split(",", 17);
                if (parts.length > 16) {
                    throw new IllegalArgumentException("option " + key + " lists more than 16 numbers");
                }
                double[] out = new double[parts.length];
                for (int i = 0; i < parts.length; i++) {
                    out[i] = finite(Double.parseDouble(parts[i].trim()), key);
                }
                return out;
            }
            return finite(Double.parseDouble(v), key);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option " + key + " holds '" + (v.length() > 40 ? v.substring(0, 40) + "..." : v) + "', not a number");
        }
    }

    /** An option's number: NaN or an infinity (a rate of NaN trained silently to NaN) is refused. */
    private static double finite(double v, String key) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException("option " + key + " holds " + v + ", not a finite number");
        }
        return v;
    }

    /**
     * Loads one checkpoint file; throws, changing nothing in the model or the optimizer, when it is damaged or for
     * another model or optimizer.
     */
    public static long restore(Path file, Module model, Optimizer optimizer) throws IOException {
        return restore(SafeTensors.parse(readOnce(file), file.toString()), model, optimizer);
    }

    private static long restore(SafeTensors.Contents c, Module model, Optimizer optimizer) {
        try {
            Map<String, String> meta = c.metadata();
            String stepText = meta.get("lanes.step");
            if (stepText == null) {
                throw new IllegalArgumentException("not a Lanes training checkpoint (no lanes.step)");
            }
            long step = Long.parseLong(stepText); // every check before anything changes: a bad step once came after both loads
            if (step < 0) {
                throw new IllegalArgumentException("lanes.step " + step + " is negative");
            }
            Map<String, Tensor> modelState = new LinkedHashMap<>();
            Map<Integer, Map<String, Object>> state = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : c.tensors().entrySet()) {
                String k = e.getKey();
                if (k.startsWith("model/")) {
                    modelState.put(k.substring(6), e.getValue());
                } else if (k.startsWith("optim/")) {
                    String[] parts = k.split("/", 3);
                    state.computeIfAbsent(Integer.parseInt(parts[1]), i -> new LinkedHashMap<>()).put(parts[2], e.getValue());
                }
            }
            List<Map<String, Object>> groups = new ArrayList<>();
            int index = 0;
            // the checkpoint's group layout must be the optimizer's (it was rebuilt from the optimizer, so a checkpoint of
            // another layout loaded whenever its state tensors happened to fit); checked before the model is touched
            int savedGroups = 0;
            while (meta.containsKey("lanes.groupsize." + savedGroups)) {
                savedGroups++;
            }
            if (savedGroups > 0 && savedGroups != optimizer.paramGroups().size()) { // none: written before stop 40, layout unrecorded
                throw new IllegalArgumentException("the checkpoint's optimizer has " + savedGroups + " parameter groups, this one "
                        + optimizer.paramGroups().size());
            }
            for (int g = 0; g < savedGroups; g++) {
                int saved = Integer.parseInt(meta.get("lanes.groupsize." + g));
                if (saved != optimizer.paramGroups().get(g).params().size()) {
                    throw new IllegalArgumentException("the checkpoint's parameter group " + g + " has " + saved + " parameters, this optimizer's "
                            + optimizer.paramGroups().get(g).params().size());
                }
            }
            for (int g = 0; g < optimizer.paramGroups().size(); g++) {
                Map<String, Object> opts = new LinkedHashMap<>();
                String prefix = "lanes.group." + g + ".";
                for (Map.Entry<String, String> e : meta.entrySet()) {
                    if (e.getKey().startsWith(prefix)) {
                        opts.put(e.getKey().substring(prefix.length()), optionValue(e.getValue(), e.getKey()));
                    }
                }
                List<Integer> ids = new ArrayList<>();
                for (int i = 0; i < optimizer.paramGroups().get(g).params().size(); i++) {
                    ids.add(index++);
                }
                opts.put("params", ids);
                groups.add(opts);
            }
            for (Map.Entry<String, String> e : meta.entrySet()) {
                if (e.getKey().startsWith("lanes.optim.")) {
                    String[] parts = e.getKey().substring("lanes.optim.".length()).split("\\.", 2);
                    state.computeIfAbsent(Integer.parseInt(parts[0]), i -> new LinkedHashMap<>()).put(parts[1], Long.valueOf(e.getValue()));
                }
            }
            Map<String, Object> od = new LinkedHashMap<>();
            od.put("state", state);
            od.put("param_groups", groups);
            // the model's keys and shapes checked first, then the optimizer loads (it checks all before it changes
            // anything), then the model: a checkpoint one of them refuses leaves both as they were
            Map<String, Tensor> own = model.stateDict(); // detached handles: closed below
            try {
                if (!own.keySet().equals(modelState.keySet())) {
                    throw new IllegalArgumentException("the checkpoint's model has other tensors than this one (" + modelState.size() + " against "
                            + own.size() + ")");
                }
                for (Map.Entry<String, Tensor> e : own.entrySet()) {
                    Tensor saved = modelState.get(e.getKey());
                    if (!java.util.Arrays.equals(saved.shape(), e.getValue().shape()) || saved.dtype() != e.getValue().dtype()) {
                        throw new IllegalArgumentException("the checkpoint's " + e.getKey() + " is " + saved.dtype() + " " + saved.size() + ", this model's "
                                + e.getValue().dtype() + " " + e.getValue().size());
                    }
                }
            } finally {
                own.values().forEach(Tensor::close);
            }
            optimizer.loadStateDict(od);
            model.loadStateDict(modelState, true);
            return step;
        } finally {
            c.tensors().values().forEach(Tensor::close);
        }
    }
}
