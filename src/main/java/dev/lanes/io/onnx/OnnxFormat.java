package dev.lanes.io.onnx;

import dev.lanes.io.ReadLimits;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of ONNX's schema ({@code onnx.proto}) a model for inference uses, decoded from protobuf bytes by
 * {@link ProtoReader}: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto (raw_data, the typed fields and
 * external data files), ValueInfoProto shapes and the opset imports. Field numbers are onnx.proto's; unknown fields
 * are skipped (newer ONNX versions add some), and every value is checked before it is trusted.
 */
public final class OnnxFormat {
    private OnnxFormat() {
    }

    // TensorProto.DataType
    public static final int FLOAT = 1;
    public static final int UINT8 = 2;
    public static final int INT8 = 3;
    public static final int UINT16 = 4;
    public static final int INT16 = 5;
    public static final int INT32 = 6;
    public static final int INT64 = 7;
    public static final int STRING = 8;
    public static final int BOOL = 9;
    public static final int FLOAT16 = 10;
    public static final int DOUBLE = 11;
    public static final int UINT32 = 12;
    public static final int UINT64 = 13;

    // AttributeProto.AttributeType
    static final int ATTR_FLOAT = 1;
    static final int ATTR_INT = 2;
    static final int ATTR_STRING = 3;
    static final int ATTR_TENSOR = 4;
    static final int ATTR_GRAPH = 5;
    static final int ATTR_FLOATS = 6;
    static final int ATTR_INTS = 7;
    static final int ATTR_STRINGS = 8;

    /** Most elements one tensor may hold: a Lanes tensor's limit. */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    /** The name of a data type, for messages. */
    public static String typeName(int t) {
        return switch (t) {
            case FLOAT -> "float";
            case UINT8 -> "uint8";
            case INT8 -> "int8";
            case UINT16 -> "uint16";
            case INT16 -> "int16";
            case INT32 -> "int32";
            case INT64 -> "int64";
            case STRING -> "string";
            case BOOL -> "bool";
            case FLOAT16 -> "float16";
            case DOUBLE -> "double";
            case UINT32 -> "uint32";
            case UINT64 -> "uint64";
            default -> "data type " + t;
        };
    }

    /**
     * A tensor's values: floating types in {@code floats} (doubles rounded to float: Lanes computes in float32),
     * integer and bool types in {@code longs}. Exactly one of the two is non-null.
     */
    public record TensorData(String name, int dataType, long[] dims, float[] floats, long[] longs) {
        public long numel() {
            return floats != null ? floats.length : longs.length;
        }

        public boolean isFloat() {
            return floats != null;
        }
    }

    public record Attribute(String name, int type, float f, long i, String s, TensorData t, float[] floats, long[] ints, List<String> strings) {
    }

    public record Node(String name, String opType, String domain, List<String> inputs, List<String> outputs, Map<String, Attribute> attributes) {
        /** How a message names this node: its op type and, if it has one, its name. */
        public String describe() {
            return opType + (name.isEmpty() ? "" : " node '" + name + "'");
        }
    }

    /**
     * A graph input or output: its element type (0 if not given) and dims (-1 where symbolic or missing; null if no
     * shape); {@code tensor} is false for a sequence, map or optional value (which Lanes does not run).
     */
    public record ValueInfo(String name, int elemType, long[] dims, boolean tensor) {
    }

    public record Graph(String name, List<Node> nodes, List<TensorData> initializers, List<ValueInfo> inputs, List<ValueInfo> outputs) {
    }

    public record Model(long irVersion, Map<String, Long> opsets, String producer, Graph graph) {
        /** The version of the default ("ai.onnx", spelled "" too) operator set this model imports. */
        public long opset() {
            Long v = opsets.get("");
            if (v == null) {
                v = opsets.get("ai.onnx");
            }
            return v == null ? -1 : v;
        }
    }

    /** Reads a model file; external tensor data is read from files beside it (never outside its folder). */
    public static Model read(Path file) throws IOException {
        long size = Files.size(file);
        long max = Math.min(ReadLimits.maxBytes(), ReadLimits.MAX_ARRAY);
        if (size > max) {
            throw new IllegalArgumentException("ONNX: " + file + " is " + size + " bytes, over the read limit of " + max
                    + " (-Dlanes.io.maxBytes; a model over 2 GB keeps its weights in external data files)");
        }
        return parse(ReadLimits.readFile(file, max, "ONNX model"), file.toAbsolutePath().getParent()); // bounded even if it grows, no FIFOs
    }

    /**
     * Where one model's external data files are (null: refuse external data), and how many bytes of them it has read:
     * every tensor's range is checked, and so is their sum (tensors may all name the same range of one file).
     */
    static final class Source {
        final Path dir;
        long externalBytes;
        /** Bytes of all the model's tensors as decoded (an 8-byte long for every int8 or bool: up to 8x the file's bytes). */
        long decodedBytes;
        /** Repeated items decoded so far (nodes, tensors, value infos, names, attributes, dims): each costs an object. */
        long items;

        Source(Path dir) {
            this.dir = dir;
        }

        /** How many more int64 values the decoded-bytes budget allows (a list of them grows before its tensor's dims are known). */
        long longsLeft() {
            return Math.max(0, (ReadLimits.maxBytes() - decodedBytes) / 8);
        }

        /** Counts one repeated item against {@link #MAX_ITEMS}. */
        void item(String what) {
            if (++items > MAX_ITEMS) {
                throw new IllegalArgumentException("ONNX: more than " + MAX_ITEMS + " nodes, tensors, names, attributes and dims in the model"
                        + " (at " + what + ")");
            }
        }
    }

    /**
     * Repeated items one model may hold (a million: a large transformer export has tens of thousands). Each decodes to
     * an object of tens of bytes from as little as 2 bytes of file, so a file of empty names would otherwise cost ~20x
     * its size in heap.
     */
    static final long MAX_ITEMS = 1 << 20;
    private static final String LONGS_WHY = "their 8 bytes each would pass the read limit, -Dlanes.io.maxBytes";
    /** Dims one tensor or value may have. */
    static final int MAX_RANK = 64;

    /** Decodes a model from its bytes; {@code dir} is where external data files are (null: refuse external data). */
    public static Model parse(byte[] bytes, Path dir) {
        Source src = new Source(dir);
        ProtoReader r = new ProtoReader(bytes);
        long ir = -1;
        Map<String, Long> opsets = new LinkedHashMap<>();
        String producer = "";
        Graph graph = null;
        while (r.hasNext()) {
            switch (r.next()) {
                case 1 -> ir = r.int64("ModelProto.ir_version");
                case 2 -> producer = r.string("ModelProto.producer_name");
                case 7 -> graph = graph(r.message("ModelProto.graph"), src);
                case 8 -> {
                    ProtoReader o = r.message("ModelProto.opset_import");
                    String domain = "";
                    long version = -1;
                    while (o.hasNext()) {
                        switch (o.next()) {
                            case 1 -> domain = o.string("OperatorSetIdProto.domain");
                            case 2 -> version = o.int64("OperatorSetIdProto.version");
                            default -> o.skip();
                        }
                    }
                    opsets.put(domain, version);
                }
                default -> r.skip();
            }
        }
        if (graph == null) {
            throw new IllegalArgumentException("ONNX: the model has no graph (ModelProto.graph missing): not an ONNX model file?");
        }
        if (opsets.isEmpty()) {
            throw new IllegalArgumentException("ONNX: the model imports no operator set (ModelProto.opset_import is empty)");
        }
        return new Model(ir, Map.copyOf(opsets), producer, graph);
    }

    /** Decodes one serialized TensorProto (ONNX's test data files: input_0.pb, output_0.pb, ...). */
    public static TensorData parseTensor(byte[] bytes) {
        return tensor(new ProtoReader(bytes), new Source(null)); // no folder: external data refused with its message
    }

    static Graph graph(ProtoReader r, Source dir) {
        String name = "";
        List<Node> nodes = new ArrayList<>();
        List<TensorData> inits = new ArrayList<>();
        List<ValueInfo> inputs = new ArrayList<>();
        List<ValueInfo> outputs = new ArrayList<>();
        while (r.hasNext()) {
            switch (r.next()) {
                case 1 -> {
                    dir.item("GraphProto.node");
                    nodes.add(node(r.message("GraphProto.node"), dir));
                }
                case 2 -> name = r.string("GraphProto.name");
                case 5 -> {
                    dir.item("GraphProto.initializer");
                    inits.add(tensor(r.message("GraphProto.initializer"), dir));
                }
                case 11 -> {
                    dir.item("GraphProto.input");
                    inputs.add(valueInfo(r.message("GraphProto.input"), dir));
                }
                case 12 -> {
                    dir.item("GraphProto.output");
                    outputs.add(valueInfo(r.message("GraphProto.output"), dir));
                }
                case 15 -> throw new IllegalArgumentException("ONNX: sparse initializers are not supported (GraphProto.sparse_initializer)");
                default -> r.skip();
            }
        }
        return new Graph(name, List.copyOf(nodes), List.copyOf(inits), List.copyOf(inputs), List.copyOf(outputs));
    }

    static Node node(ProtoReader r, Source dir) {
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        String name = "";
        String op = "";
        String domain = "";
        Map<String, Attribute> attrs = new LinkedHashMap<>();
        while (r.hasNext()) {
            switch (r.next()) {
                case 1 -> {
                    dir.item("NodeProto.input");
                    in.add(r.string("NodeProto.input"));
                }
                case 2 -> {
                    dir.item("NodeProto.output");
                    out.add(r.string("NodeProto.output"));
                }
                case 3 -> name = r.string("NodeProto.name");
                case 4 -> op = r.string("NodeProto.op_type");
                case 5 -> {
                    dir.item("NodeProto.attribute");
                    Attribute a = attribute(r.message("NodeProto.attribute"), dir);
                    if (attrs.put(a.name(), a) != null) {
                        throw new IllegalArgumentException("ONNX: attribute '" + a.name() + "' given twice");
                    }
                }
                case 7 -> domain = r.string("NodeProto.domain");
                default -> r.skip();
            }
        }
        if (op.isEmpty()) {
            throw new IllegalArgumentException("ONNX: a node without op_type" + (name.isEmpty() ? "" : " ('" + name + "')"));
        }
        return new Node(name, op, domain, List.copyOf(in), List.copyOf(out), Map.copyOf(attrs));
    }

    static Attribute attribute(ProtoReader r, Source dir) {
        String name = "";
        int type = 0;
        float f = 0;
        long i = 0;
        String s = null;
        TensorData t = null;
        ProtoReader.FloatList floats = new ProtoReader.FloatList();
        ProtoReader.LongList ints = new ProtoReader.LongList();
        List<String> strings = new ArrayList<>();
        while (r.hasNext()) {
            switch (r.next()) {
                case 1 -> name = r.string("AttributeProto.name");
                case 2 -> f = r.float32("AttributeProto.f");
                case 3 -> i = r.int64("AttributeProto.i");
                case 4 -> s = r.string("AttributeProto.s");
                case 5 -> t = tensor(r.message("AttributeProto.t"), dir);
                case 7 -> r.float32s("AttributeProto.floats", floats);
                case 8 -> r.int64s("AttributeProto.ints", ints, dir.longsLeft(), LONGS_WHY);
                case 9 -> {
                    dir.item("AttributeProto.strings");
                    strings.add(r.string("AttributeProto.strings"));
                }
                case 20 -> type = r.int32("AttributeProto.type");
                default -> r.skip(); // graphs (If/Loop bodies), sparse tensors, type protos: not supported, refused by op
            }
        }
        if (name.isEmpty()) {
            throw new IllegalArgumentException("ONNX: an attribute without a name");
        }
        dir.decodedBytes += 8L * ints.n + 4L * floats.n; // within the budget: ints was bounded by it, floats by the file
        return new Attribute(name, type, f, i, s, t, floats.toArray(), ints.toArray(), List.copyOf(strings));
    }

    static ValueInfo valueInfo(ProtoReader r, Source src) {
        String name = "";
        int elem = 0;
        long[] dims = null;
        boolean tensor = true;
        while (r.hasNext()) {
            int f = r.next();
            if (f == 1) {
                name = r.string("ValueInfoProto.name");
            } else if (f == 2) {
                ProtoReader type = r.message("ValueInfoProto.type");
                while (type.hasNext()) {
                    int g0 = type.next();
                    if (g0 == 6) { // TypeProto.denotation ("IMAGE", "TEXT", ...): a note on a type, not a kind of value
                        type.skip();
                    } else if (g0 == 1) { // TypeProto.tensor_type
                        ProtoReader tt = type.message("TypeProto.tensor_type");
                        while (tt.hasNext()) {
                            int g = tt.next();
                            if (g == 1) {
                                elem = tt.int32("TypeProto.Tensor.elem_type");
                            } else if (g == 2) {
                                dims = shape(tt.message("TypeProto.Tensor.shape"), src);
                            } else {
                                tt.skip();
                            }
                        }
                    } else {
                        tensor = false; // sequence_type, map_type, optional_type, sparse_tensor_type
                        type.skip();
                    }
                }
            } else {
                r.skip();
            }
        }
        return new ValueInfo(name, elem, dims, tensor);
    }

    private static long[] shape(ProtoReader r, Source src) {
        ProtoReader.LongList dims = new ProtoReader.LongList();
        while (r.hasNext()) {
            if (r.next() == 1) {
                src.item("TensorShapeProto.dim");
                if (dims.n >= MAX_RANK) {
                    throw new IllegalArgumentException("ONNX: a value's shape has more than " + MAX_RANK + " dims");
                }
                ProtoReader d = r.message("TensorShapeProto.dim");
                long v = -1;
                while (d.hasNext()) {
                    if (d.next() == 1) {
                        long dv = d.int64("Dimension.dim_value");
                        v = dv >= 0 ? dv : -1;
                    } else {
                        d.skip(); // dim_param: a symbolic size, e.g. "batch"
                    }
                }
                dims.add(v);
            } else {
                r.skip();
            }
        }
        return dims.toArray();
    }

    /** A TensorProto, its values decoded and counted against its dims. */
    static TensorData tensor(ProtoReader r, Source dir) {
        ProtoReader.LongList dims = new ProtoReader.LongList();
        int type = 0;
        String name = "";
        long[] raw = null;
        ProtoReader.FloatList floats = new ProtoReader.FloatList();
        ProtoReader.LongList ints = new ProtoReader.LongList();
        boolean typed = false;
        Map<String, String> external = new LinkedHashMap<>();
        int location = 0;
        while (r.hasNext()) {
            switch (r.next()) {
                case 1 -> r.int64s("TensorProto.dims", dims, MAX_RANK, "a tensor's rank");
                case 2 -> type = r.int32("TensorProto.data_type");
                case 4 -> {
                    r.float32s("TensorProto.float_data", floats);
                    typed = true;
                }
                case 5, 7 -> { // int32_data, int64_data
                    r.int64s("TensorProto.int32_data/int64_data", ints, dir.longsLeft(), LONGS_WHY);
                    typed = true;
                }
                case 8 -> name = r.string("TensorProto.name");
                case 9 -> raw = r.span("TensorProto.raw_data");
                case 10 -> {
                    r.float64s("TensorProto.double_data", floats);
                    typed = true;
                }
                case 11 -> {
                    r.int64s("TensorProto.uint64_data", ints, dir.longsLeft(), LONGS_WHY);
                    typed = true;
                }
                case 13 -> {
                    ProtoReader e = r.message("TensorProto.external_data");
                    String k = null;
                    String v = null;
                    while (e.hasNext()) {
                        switch (e.next()) {
                            case 1 -> k = e.string("StringStringEntryProto.key");
                            case 2 -> v = e.string("StringStringEntryProto.value");
                            default -> e.skip();
                        }
                    }
                    if (k != null && v != null) {
                        external.put(k, v);
                    }
                }
                case 14 -> location = r.int32("TensorProto.data_location");
                case 3 -> throw new IllegalArgumentException("ONNX: segmented tensors are not supported (tensor '" + name + "')");
                default -> r.skip();
            }
        }
        long[] d = dims.toArray();
        long numel = 1;
        for (long v : d) {
            if (v < 0) {
                throw new IllegalArgumentException("ONNX: tensor '" + name + "' has a negative dim in " + java.util.Arrays.toString(d));
            }
            if (numel != 0 && v > MAX_ELEMENTS / numel) {
                numel = MAX_ELEMENTS + 1; // checked below, without overflowing
            } else {
                numel *= v;
            }
            if (numel > MAX_ELEMENTS) {
                throw new IllegalArgumentException("ONNX: tensor '" + name + "' of shape " + java.util.Arrays.toString(d) + " has more than "
                        + MAX_ELEMENTS + " elements");
            }
        }
        int n = (int) numel;
        int size = elementSize(type, name);
        long decoded = (long) n * (floating(type) ? 4 : 8); // n below 2^31: no overflow
        if (location == 1 || !external.isEmpty()) {
            if ((long) n * size > ReadLimits.MAX_ARRAY || (long) n * size > ReadLimits.maxBytes()) {
                throw new IllegalArgumentException("ONNX: tensor '" + name + "' of " + (long) n * size + " bytes is over the read limit");
            }
            dir.externalBytes += (long) n * size; // each at most the limit (above): no overflow
            if (dir.externalBytes > ReadLimits.maxBytes()) {
                throw new IllegalArgumentException("ONNX: the model's external data adds up to " + dir.externalBytes + " bytes with tensor '" + name
                        + "', over the read limit of " + ReadLimits.maxBytes() + " (-Dlanes.io.maxBytes)");
            }
            decoded(dir, decoded, name);
            byte[] bytes = externalBytes(dir, external, (long) n * size, name);
            return decodeRaw(name, type, d, bytes, 0, bytes.length, n);
        }
        decoded(dir, decoded, name);
        if (raw != null) {
            if (typed) {
                throw new IllegalArgumentException("ONNX: tensor '" + name + "' has both raw_data and typed data");
            }
            return decodeRaw(name, type, d, r.buffer(), (int) raw[0], (int) raw[1], n);
        }
        return decodeTyped(name, type, d, floats, ints, n);
    }

    /**
     * Counts a tensor's decoded bytes against the read limit for the whole model: int8s and bools decode to 8 bytes
     * each, and tensors may all name the same range of one external file.
     */
    private static void decoded(Source dir, long bytes, String name) {
        dir.decodedBytes += bytes;
        if (dir.decodedBytes > ReadLimits.maxBytes()) {
            throw new IllegalArgumentException("ONNX: the model's tensors decode to more than " + ReadLimits.maxBytes() + " bytes with tensor '"
                    + name + "' (" + dir.decodedBytes + "), over the read limit (-Dlanes.io.maxBytes)");
        }
    }

    private static int elementSize(int type, String name) {
        return switch (type) {
            case FLOAT, INT32, UINT32 -> 4;
            case DOUBLE, INT64, UINT64 -> 8;
            case UINT8, INT8, BOOL -> 1;
            case INT16, UINT16 -> 2;
            default -> throw new IllegalArgumentException("ONNX: tensor '" + name + "' has unsupported " + typeName(type)
                    + " (Lanes reads float, double, bool and integer tensors)");
        };
    }

    private static boolean floating(int type) {
        return type == FLOAT || type == DOUBLE;
    }

    private static TensorData decodeRaw(String name, int type, long[] dims, byte[] b, int off, int len, int n) {
        int size = elementSize(type, name);
        if ((long) n * size != len) {
            throw new IllegalArgumentException("ONNX: tensor '" + name + "' of shape " + java.util.Arrays.toString(dims) + " (" + typeName(type) + ") needs "
                    + (long) n * size + " bytes of raw data, has " + len);
        }
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b, off, len).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        if (type == FLOAT) {
            float[] f = new float[n];
            bb.asFloatBuffer().get(f); // one bulk copy: element by element, a cold JVM spent ~80 ns a float here
            return new TensorData(name, type, dims, f, null);
        }
        if (floating(type)) {
            float[] f = new float[n];
            for (int i = 0; i < n; i++) {
                f[i] = (float) bb.getDouble();
            }
            return new TensorData(name, type, dims, f, null);
        }
        if ((long) n * 8 > ReadLimits.maxBytes()) { // 1- and 2-byte elements decode to 8 each
            throw new IllegalArgumentException("ONNX: tensor '" + name + "' of " + n + " " + typeName(type) + " elements decodes to " + (long) n * 8
                    + " bytes, over the read limit of " + ReadLimits.maxBytes() + " (-Dlanes.io.maxBytes)");
        }
        long[] l = new long[n];
        for (int i = 0; i < n; i++) {
            l[i] = switch (type) {
                case INT64, UINT64 -> bb.getLong();
                case INT32 -> bb.getInt();
                case UINT32 -> bb.getInt() & 0xffffffffL;
                case INT16 -> bb.getShort();
                case UINT16 -> bb.getShort() & 0xffff;
                case INT8 -> bb.get();
                case UINT8 -> bb.get() & 0xff;
                case BOOL -> bb.get() != 0 ? 1 : 0;
                default -> throw new IllegalStateException();
            };
        }
        return new TensorData(name, type, dims, null, l);
    }

    private static TensorData decodeTyped(String name, int type, long[] dims, ProtoReader.FloatList floats, ProtoReader.LongList ints, int n) {
        int have = floating(type) ? floats.n : ints.n;
        if (have != n) {
            throw new IllegalArgumentException("ONNX: tensor '" + name + "' of shape " + java.util.Arrays.toString(dims) + " (" + typeName(type) + ") has "
                    + have + " values, needs " + n);
        }
        if (floating(type)) {
            return new TensorData(name, type, dims, floats.toArray(), null);
        }
        long[] l = ints.toArray();
        if (type == BOOL) {
            for (int i = 0; i < n; i++) {
                l[i] = l[i] != 0 ? 1 : 0;
            }
        }
        long lo = switch (type) {
            case INT8 -> Byte.MIN_VALUE;
            case INT16 -> Short.MIN_VALUE;
            case INT32 -> Integer.MIN_VALUE;
            case UINT8, UINT16, UINT32 -> 0;
            default -> Long.MIN_VALUE;
        };
        long hi = switch (type) {
            case INT8 -> Byte.MAX_VALUE;
            case UINT8 -> 0xff;
            case INT16 -> Short.MAX_VALUE;
            case UINT16 -> 0xffff;
            case INT32 -> Integer.MAX_VALUE;
            case UINT32 -> 0xffffffffL;
            default -> Long.MAX_VALUE;
        };
        for (int i = 0; i < n; i++) {
            if (l[i] < lo || l[i] > hi) { // typed int fields hold 64-bit varints: a value past its type was taken as it came
                throw new IllegalArgumentException("ONNX: tensor '" + name + "' (" + typeName(type) + ") has value " + l[i] + " at " + i
                        + ", outside its type's range [" + lo + ", " + hi + "]");
            }
        }
        return new TensorData(name, type, dims, null, l);
    }

    /**
     * External data (ONNX's "location", "offset", "length" keys): a file in the model's folder, given by a relative path
     * that stays inside it (no absolute paths, no "..", no links out), the range checked against the file's size.
     */
    private static byte[] externalBytes(Source src, Map<String, String> keys, long bytes, String name) {
        Path dir = src.dir;
        if (dir == null) {
            throw new IllegalArgumentException("ONNX: tensor '" + name + "' keeps its data in an external file, and this model was read from bytes");
        }
        String location = keys.get("location");
        if (location == null || location.isEmpty()) {
            throw new IllegalArgumentException("ONNX: tensor '" + name + "' has external data without a location");
        }
        long offset = parseLong(keys.getOrDefault("offset", "0"), "offset", name);
        long length = keys.containsKey("length") ? parseLong(keys.get("length"), "length", name) : bytes;
        if (length != bytes) {
            throw new IllegalArgumentException("ONNX: tensor '" + name + "' needs " + bytes + " bytes, its external data length says " + length);
        }
        try {
            Path base = dir.toRealPath();
            Path rel = Path.of(location);
            if (rel.isAbsolute() || location.contains("..")) {
                throw new IllegalArgumentException("ONNX: tensor '" + name + "' external data location '" + location + "' leaves the model's folder");
            }
            Path file = base.resolve(rel).normalize();
            // one answer for a missing file, a link out of the folder (a link to a directory inside it too) and a broken
            // link: distinct answers let a model probe which paths exist outside its folder
            Path real;
            try {
                real = file.startsWith(base) ? file.toRealPath() : null;
            } catch (IOException e) {
                real = null;
            }
            if (real == null || !real.startsWith(base)) {
                throw new IllegalArgumentException("ONNX: tensor '" + name + "' external data location '" + location
                        + "' is not a file inside the model's folder (missing, a link out of it, or a broken link)");
            }
            if (!Files.isRegularFile(real)) {
                throw new IllegalArgumentException("ONNX: tensor '" + name + "' external data " + real.getFileName() + " is not a regular file");
            }
            long size = Files.size(real);
            if (offset < 0 || offset > size || length > size - offset) {
                throw new IllegalArgumentException("ONNX: tensor '" + name + "' external data [" + offset + ", +" + length + ") runs past the end of "
                        + real.getFileName() + " (" + size + " bytes)");
            }
            byte[] out = new byte[(int) length];
            try (RandomAccessFile f = new RandomAccessFile(real.toFile(), "r")) {
                f.seek(offset);
                f.readFully(out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalArgumentException("ONNX: tensor '" + name + "' external data: " + e.getMessage(), e);
        }
    }

    private static long parseLong(String s, String key, String name) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("ONNX: tensor '" + name + "' external data " + key + " '" + s + "' is not a number");
        }
    }
}
