package dev.lanes.io.onnx;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Protobuf's wire format, read from a byte array: what an ONNX file is. Lanes decodes it itself (no protobuf-java:
 * the core stays free of dependencies, and the ONNX schema needs only the five wire types below).
 *
 * <p>Everything is checked before it is used, as a hostile file demands: a tag or varint running past the end or
 * longer than 10 bytes, a length past the end of its message, a field number of 0, the group wire types (3, 4, never
 * used by ONNX), a field read with the wrong wire type, and messages nested deeper than {@link #MAX_DEPTH} all throw
 * {@link IllegalArgumentException} with the byte offset; nothing is allocated from a length before the bytes are
 * known to be there.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LEN = 2;
    static final int FIXED32 = 5;

    /** Deepest nesting of messages read (a graph inside an attribute inside a node ... is bounded by this too). */
    static final int MAX_DEPTH = 64;

    private final byte[] buf;
    private final int end;
    private final int depth;
    private int pos;
    private int wire = -1;
    private int field;

    ProtoReader(byte[] buf) {
        this(buf, 0, buf.length, 0);
    }

    private ProtoReader(byte[] buf, int from, int to, int depth) {
        if (depth > MAX_DEPTH) {
            throw new IllegalArgumentException("ONNX: messages nested deeper than " + MAX_DEPTH + " at byte " + from);
        }
        this.buf = buf;
        this.pos = from;
        this.end = to;
        this.depth = depth;
    }

    boolean hasNext() {
        return pos < end;
    }

    /** Reads the next field's key; returns its field number (>= 1). */
    int next() {
        int at = pos;
        long key = readVarint();
        int w = (int) (key & 7);
        long f = key >>> 3;
        if (f < 1 || f > (1 << 29) - 1) {
            throw new IllegalArgumentException("ONNX: bad field number " + f + " at byte " + at);
        }
        if (w != VARINT && w != FIXED64 && w != LEN && w != FIXED32) {
            throw new IllegalArgumentException("ONNX: unsupported wire type " + w + " (field " + f + ") at byte " + at);
        }
        wire = w;
        field = (int) f;
        return field;
    }

    int wire() {
        return wire;
    }

    int position() {
        return pos;
    }

    private void expect(int w, String what) {
        if (wire != w) {
            throw new IllegalArgumentException("ONNX: " + what + " (field " + field + ") has wire type " + wire + ", expected " + w
                    + " (byte " + pos + ")");
        }
    }

    long readVarint() {
        long result = 0;
        for (int i = 0; i < 10; i++) {
            if (pos >= end) {
                throw new IllegalArgumentException("ONNX: truncated varint at byte " + pos);
            }
            int b = buf[pos++] & 0xff;
            if (i == 9 && b > 1) {
                throw new IllegalArgumentException("ONNX: varint longer than 64 bits at byte " + (pos - 1));
            }
            result |= (long) (b & 0x7f) << (7 * i);
            if (b < 0x80) {
                return result;
            }
        }
        throw new IllegalArgumentException("ONNX: varint longer than 10 bytes at byte " + pos);
    }

    long int64(String what) {
        expect(VARINT, what);
        return readVarint();
    }

    /** An int32 field (protobuf writes negative ones sign-extended to 64 bits): its low 32 bits. */
    int int32(String what) {
        expect(VARINT, what);
        return (int) readVarint();
    }

    float float32(String what) {
        expect(FIXED32, what);
        return Float.intBitsToFloat(fixed32());
    }

    private int fixed32() {
        if (end - pos < 4) {
            throw new IllegalArgumentException("ONNX: truncated fixed32 at byte " + pos);
        }
        int v = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8 | (buf[pos + 2] & 0xff) << 16 | (buf[pos + 3] & 0xff) << 24;
        pos += 4;
        return v;
    }

    private long fixed64() {
        if (end - pos < 8) {
            throw new IllegalArgumentException("ONNX: truncated fixed64 at byte " + pos);
        }
        long lo = fixed32() & 0xffffffffL;
        long hi = fixed32() & 0xffffffffL;
        return lo | hi << 32;
    }

    /** The length of a length-delimited field, checked against what is left of this message. */
    private int length(String what) {
        expect(LEN, what);
        int at = pos;
        long n = readVarint();
        if (n < 0 || n > end - pos) {
            throw new IllegalArgumentException("ONNX: " + what + " (field " + field + ") of " + n + " bytes at byte " + at + " runs past the end of its message ("
                    + (end - pos) + " bytes left)");
        }
        return (int) n;
    }

    byte[] bytes(String what) {
        int n = length(what);
        byte[] out = new byte[n];
        System.arraycopy(buf, pos, out, 0, n);
        pos += n;
        return out;
    }

    /** A view of a length-delimited field's bytes without copying them: [offset, offset + length) of {@link #buffer()}. */
    long[] span(String what) {
        int n = length(what);
        long[] s = {pos, n};
        pos += n;
        return s;
    }

    byte[] buffer() {
        return buf;
    }

    String string(String what) {
        int n = length(what);
        // names and op types are ASCII in practice, where UTF-8 is the bytes themselves: a Latin-1 copy, without the strict
        // decoder below, whose setup per string (interpreted in a young JVM) was ~16% of parsing ResNet-20 at a cold start
        int stop = pos + n;
        int i = pos;
        while (i < stop && buf[i] >= 0) {
            i++;
        }
        if (i == stop) {
            String s = new String(buf, pos, n, StandardCharsets.ISO_8859_1);
            pos = stop;
            return s;
        }
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(buf, pos, n)).toString();
            pos += n;
            return s;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("ONNX: " + what + " (field " + field + ") at byte " + pos + " is not valid UTF-8");
        }
    }

    ProtoReader message(String what) {
        int n = length(what);
        ProtoReader r = new ProtoReader(buf, pos, pos + n, depth + 1);
        pos += n;
        return r;
    }

    /** Skips the current field's value (an unknown field: later ONNX versions add some). */
    void skip() {
        switch (wire) {
            case VARINT -> readVarint();
            case FIXED64 -> fixed64();
            case FIXED32 -> fixed32();
            case LEN -> {
                int n = length("unknown field"); // first: it moves pos past the length's own bytes
                pos += n;
            }
            default -> throw new IllegalStateException("wire type " + wire);
        }
    }

    // ---- repeated scalars: packed (one length-delimited run) or one value per field, both legal ----

    /** Appends a repeated int64/int32 field's values (packed or not) to {@code out}. */
    /**
     * One or more varints into {@code out}, which may hold at most {@code max} values: a packed field of one-byte varints
     * decodes to 8 bytes a value, so its count is bounded before it grows the list.
     */
    void int64s(String what, LongList out, long max, String why) {
        if (wire == LEN) {
            ProtoReader r = message(what);
            while (r.hasNext()) {
                if (out.n >= max) {
                    throw new IllegalArgumentException("ONNX: " + what + " has more than " + max + " values (" + why + "; at byte " + pos + ")");
                }
                out.add(r.readVarint());
            }
        } else {
            if (out.n >= max) {
                throw new IllegalArgumentException("ONNX: " + what + " has more than " + max + " values (" + why + "; at byte " + pos + ")");
            }
            out.add(int64(what));
        }
    }

    void float32s(String what, FloatList out) {
        if (wire == LEN) {
            int n = length(what);
            if (n % 4 != 0) {
                throw new IllegalArgumentException("ONNX: packed floats " + what + " of " + n + " bytes (not a multiple of 4) at byte " + pos);
            }
            int stop = pos + n;
            while (pos < stop) {
                out.add(Float.intBitsToFloat(fixed32()));
            }
        } else {
            out.add(float32(what));
        }
    }

    void float64s(String what, FloatList out) {
        if (wire == LEN) {
            int n = length(what);
            if (n % 8 != 0) {
                throw new IllegalArgumentException("ONNX: packed doubles " + what + " of " + n + " bytes (not a multiple of 8) at byte " + pos);
            }
            int stop = pos + n;
            while (pos < stop) {
                out.add((float) Double.longBitsToDouble(fixed64()));
            }
        } else {
            expect(FIXED64, what);
            out.add((float) Double.longBitsToDouble(fixed64()));
        }
    }

    /**
     * The next capacity of a full list of n values of {@code bytes} each: doubled, but never past the read limit in
     * decoded bytes (a varint of one byte decodes to eight: a file within the limit could decode to eight times it).
     */
    private static int grown(int n, int bytes) {
        long cap = Math.min(Integer.MAX_VALUE - 8, dev.lanes.io.ReadLimits.maxBytes() / bytes);
        if (n >= cap) {
            throw new IllegalArgumentException("ONNX: more than " + n + " values in one repeated field, over the read limit of "
                    + dev.lanes.io.ReadLimits.maxBytes() + " decoded bytes (-Dlanes.io.maxBytes)");
        }
        return (int) Math.min(cap, 2L * n);
    }

    /** A growable long array (no boxing: a tensor's int64_data can hold millions). */
    static final class LongList {
        long[] a = new long[8];
        int n;

        void add(long v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, grown(n, Long.BYTES));
            }
            a[n++] = v;
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }

    static final class FloatList {
        float[] a = new float[8];
        int n;

        void add(float v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, grown(n, Float.BYTES));
            }
            a[n++] = v;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
