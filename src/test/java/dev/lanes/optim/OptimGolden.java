package dev.lanes.optim;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** Reads golden/optim.txt (gen_optim_golden.py, torch 1.13): lr sequences as doubles, parameters as floats. */
final class OptimGolden {
    private static Map<String, String[]> lines;

    private OptimGolden() {
    }

    private static synchronized Map<String, String[]> lines() {
        if (lines == null) {
            Map<String, String[]> m = new HashMap<>();
            try (var in = OptimGolden.class.getResourceAsStream("/golden/optim.txt");
                 var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.isBlank() || line.startsWith("#")) {
                        continue;
                    }
                    String[] f = line.trim().split(" ");
                    int keyParts = switch (f[0]) {
                        case "sched" -> 3;
                        case "metric" -> 1;
                        case "optim" -> 4;
                        default -> throw new IllegalStateException("unknown golden line " + line);
                    };
                    m.put(String.join(" ", java.util.Arrays.copyOf(f, keyParts)), java.util.Arrays.copyOfRange(f, keyParts, f.length));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            lines = m;
        }
        return lines;
    }

    private static String[] get(String key) {
        String[] v = lines().get(key);
        if (v == null) {
            throw new IllegalArgumentException("no golden line '" + key + "' in optim.txt");
        }
        return v;
    }

    /** Group {@code group}'s lr after construction and after each step. */
    static double[] lrs(String sched, int group) {
        return java.util.Arrays.stream(get("sched " + sched + " " + group)).mapToDouble(Double::parseDouble).toArray();
    }

    static double[] metrics() {
        return java.util.Arrays.stream(get("metric")).mapToDouble(Double::parseDouble).toArray();
    }

    static float[] param(String optim, String param, int step) {
        String[] v = get("optim " + optim + " " + param + " " + step);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Float.parseFloat(v[i]);
        }
        return out;
    }
}
