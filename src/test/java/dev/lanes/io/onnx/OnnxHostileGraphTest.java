package dev.lanes.io.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Hand-made hostile or unusual graphs (from an adversarial review of the ONNX import): refused cleanly, or answered as the ONNX spec says. */
class OnnxHostileGraphTest {
    /** Protobuf writer with fixed32 too. */
    static final class W {
        final java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();

        void raw(long v) {
            while ((v & ~0x7fL) != 0) {
                out.write((int) (v & 0x7f) | 0x80);
                v >>>= 7;
            }
            out.write((int) v);
        }

        W varint(int f, long v) {
            raw((long) f << 3);
            raw(v);
            return this;
        }

        W fixed32(int f, float v) {
            raw((long) f << 3 | 5);
            int b = Float.floatToRawIntBits(v);
            for (int i = 0; i < 4; i++) {
                out.write((b >>> (8 * i)) & 0xff);
            }
            return this;
        }

        W bytes(int f, byte[] b) {
            raw((long) f << 3 | 2);
            raw(b.length);
            out.writeBytes(b);
            return this;
        }

        W str(int f, String s) {
            return bytes(f, s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }

        W msg(int f, W m) {
            return bytes(f, m.out.toByteArray());
        }

        byte[] done() {
            return out.toByteArray();
        }
    }

    static W node(String op, List<String> in, List<String> out, W... attrs) {
        W n = new W();
        for (String s : in) {
            n.str(1, s);
        }
        for (String s : out) {
            n.str(2, s);
        }
        n.str(4, op);
        for (W a : attrs) {
            n.msg(5, a);
        }
        return n;
    }

    static W ints(String name, long... v) {
        W a = new W().str(1, name).varint(20, OnnxFormat.ATTR_INTS);
        for (long x : v) {
            a.varint(8, x);
        }
        return a;
    }

    static W tensorAttr(String name, W t) {
        return new W().str(1, name).varint(20, OnnxFormat.ATTR_TENSOR).msg(5, t);
    }

    /** An INT attribute (the other ONNX tests' graphs use these builders too). */
    static W intAttr(String name, long v) {
        return new W().str(1, name).varint(20, OnnxFormat.ATTR_INT).varint(3, v);
    }

    /** A STRING attribute. */
    static W stringAttr(String name, String v) {
        return new W().str(1, name).varint(20, OnnxFormat.ATTR_STRING).str(4, v);
    }

    static W floatAttr(String name, float f) {
        return new W().str(1, name).varint(20, OnnxFormat.ATTR_FLOAT).fixed32(2, f);
    }

    static W int64Init(String name, long[] dims, long... v) {
        W t = new W();
        for (long d : dims) {
            t.varint(1, d);
        }
        t.varint(2, OnnxFormat.INT64).str(8, name);
        for (long x : v) {
            t.varint(7, x);
        }
        return t;
    }

    static W valueInfo(String name, int elem, long... dims) {
        W shape = new W();
        for (long d : dims) {
            shape.msg(1, new W().varint(1, d));
        }
        return new W().str(1, name).msg(2, new W().msg(1, new W().varint(1, elem).msg(2, shape)));
    }

    static byte[] model(int opset, List<W> nodes, List<W> inits, List<W> inputs, List<W> outputs) {
        W g = new W();
        for (W n : nodes) {
            g.msg(1, n);
        }
        g.str(2, "g");
        for (W t : inits) {
            g.msg(5, t);
        }
        for (W i : inputs) {
            g.msg(11, i);
        }
        for (W o : outputs) {
            g.msg(12, o);
        }
        return new W().varint(1, 8).msg(7, g).msg(8, new W().str(1, "").varint(2, opset)).done();
    }

    private static void refusedCleanly(Runnable r) {
        assertThatThrownBy(r::run).isInstanceOfAny(IllegalArgumentException.class, UnsupportedOperationException.class);
    }

    /** Transpose with a perm shorter than the input's rank: perm[i] is read before perm.length is checked. */
    @Test
    void transposeShortPermIsRefusedCleanly() {
        byte[] m = model(13, List.of(node("Transpose", List.of("x"), List.of("y"), ints("perm", 0))), List.of(),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 2, 3)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m); Tensor x = Tensor.randn(2, 3)) {
            refusedCleanly(() -> om.run(x));
        }
    }

    /** A Constant node with no outputs: n.outputs().get(0) throws IndexOutOfBoundsException. */
    @Test
    void constantWithoutOutputIsRefusedCleanly() {
        byte[] m = model(13, List.of(node("Constant", List.of(), List.of(), floatAttr("value_float", 1f)),
                        node("Identity", List.of("x"), List.of("y"))), List.of(),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 2)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m); Tensor x = Tensor.randn(2)) {
            refusedCleanly(() -> om.run(x));
        }
    }

    /** ConstantOfShape whose value tensor is empty: fill.floats()[0] throws ArrayIndexOutOfBoundsException. */
    @Test
    void constantOfShapeWithEmptyValueIsRefusedCleanly() {
        W empty = new W().varint(1, 0).varint(2, OnnxFormat.FLOAT).str(8, "v");
        byte[] m = model(13, List.of(node("ConstantOfShape", List.of("s"), List.of("c"), tensorAttr("value", empty)),
                        node("Add", List.of("x", "c"), List.of("y"))), List.of(int64Init("s", new long[] {1}, 2)),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 2)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m); Tensor x = Tensor.randn(2)) {
            refusedCleanly(() -> om.run(x));
        }
    }

    /** ConstantOfShape of an int64 fill: new long[count] with count (2^31 - 9) taken from the file: OutOfMemoryError. */
    @Test
    void constantOfShapeWithHugeIntShapeIsRefusedCleanly() {
        W seven = new W().varint(1, 1).varint(2, OnnxFormat.INT64).str(8, "v").varint(7, 7);
        byte[] m = model(13, List.of(node("ConstantOfShape", List.of("s"), List.of("c"), tensorAttr("value", seven)),
                        node("Identity", List.of("x"), List.of("y"))), List.of(int64Init("s", new long[] {1}, OnnxFormat.MAX_ELEMENTS)),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 2)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m); Tensor x = Tensor.randn(2)) {
            refusedCleanly(() -> om.run(x));
        }
    }

    /** Integer Add folded at trace time, a 1-element operand with an empty one: y.ints[0] of an empty array. */
    @Test
    void foldedAddOfEmptyIntsIsRefusedCleanlyOrEmpty() {
        byte[] m = model(13, List.of(node("Add", List.of("a", "b"), List.of("y"))),
                List.of(int64Init("a", new long[] {1}, 5), int64Init("b", new long[] {0})),
                List.of(), List.of(valueInfo("y", OnnxFormat.INT64)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            List<Tensor> out;
            try {
                out = om.run();
            } catch (IllegalArgumentException | UnsupportedOperationException ok) {
                return;
            }
            assertThat(out.get(0).shape()).containsExactly(0); // numpy broadcasting: [1] + [0] -> [0]
        }
    }

    /** Folded integer Add of a scalar (shape []) and a [1]: broadcasting gives [1]; Lanes keeps the first operand's shape []. */
    @Test
    void foldedAddBroadcastsScalarWithOneElementVector() {
        byte[] m = model(13, List.of(node("Add", List.of("a", "b"), List.of("y"))),
                List.of(int64Init("a", new long[] {}, 2), int64Init("b", new long[] {1}, 3)),
                List.of(), List.of(valueInfo("y", OnnxFormat.INT64)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            Tensor y = om.run().get(0);
            assertThat(y.shape()).containsExactly(1);
        }
    }

    /** ReduceMean with an explicit empty axes list (opset 13): ONNX Runtime reduces over all dims; Lanes returns x unchanged. */
    @Test
    void reduceMeanWithEmptyAxesReducesAll() {
        byte[] m = model(13, List.of(node("ReduceMean", List.of("x"), List.of("y"), ints("axes"),
                        new W().str(1, "keepdims").varint(20, OnnxFormat.ATTR_INT).varint(3, 0))), List.of(),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 2, 2)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m); Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2)) {
            Tensor y = om.run(x).get(0);
            assertThat(y.shape()).isEmpty();
        }
    }

    // ---- from a second adversarial review (stop 33): folded Slice, empty results with a huge axis, Expand, denotation ----

    /** Folded Slice with a step near Long.MAX_VALUE: i += step wrapped around and took later, wrong indices ([30, 20, 10]). */
    @Test
    void foldedSliceWithAHugeStepTakesOnlyItsFirstIndex() {
        for (long[] startEndStep : new long[][] {{2, 3, Long.MAX_VALUE}, {0, 3, Long.MAX_VALUE - 1}, {2, -4, Long.MIN_VALUE}, {2, -4, -Long.MAX_VALUE}}) {
            byte[] m = model(13, List.of(node("Slice", List.of("d", "s", "e", "a", "p"), List.of("y"))),
                    List.of(int64Init("d", new long[] {3}, 10, 20, 30), int64Init("s", new long[] {1}, startEndStep[0]),
                            int64Init("e", new long[] {1}, startEndStep[1]), int64Init("a", new long[] {1}, 0),
                            int64Init("p", new long[] {1}, startEndStep[2])),
                    List.of(), List.of(valueInfo("y", OnnxFormat.INT64)));
            try (OnnxModel om = OnnxModel.parse(m)) {
                Tensor y = om.run().get(0);
                assertThat(y.toLongArray()).as("Slice %s", java.util.Arrays.toString(startEndStep))
                        .containsExactly(startEndStep[0] == 0 ? 10 : 30);
            }
        }
    }

    /** Folded Slice of an empty constant beside a huge axis: index lists for 2^31 elements of an axis nothing is read from. */
    @Test
    void foldedSliceOfAnEmptyConstantWithAHugeAxisIsEmpty() {
        byte[] m = model(13, List.of(node("Slice", List.of("d", "s", "e", "a"), List.of("y"))),
                List.of(int64Init("d", new long[] {0, 2_147_483_000L}), int64Init("s", new long[] {1}, 0),
                        int64Init("e", new long[] {1}, 1), int64Init("a", new long[] {1}, 0)),
                List.of(), List.of(valueInfo("y", OnnxFormat.INT64)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            assertThat(om.run().get(0).numel()).isZero();
        }
    }

    /** An empty float [0, 1] initializer, one axis resized or padded to ~2^31: per-axis tables of that size (OutOfMemoryError). */
    @Test
    void resizeAndPadToAnEmptyResultWithAHugeAxisAreEmpty() {
        W empty = new W().varint(1, 0).varint(1, 1).varint(2, OnnxFormat.FLOAT).str(8, "x");
        byte[] resize = model(13, List.of(node("Resize", List.of("x", "", "", "sizes"), List.of("y"))),
                List.of(empty, int64Init("sizes", new long[] {2}, 0, 2_147_483_000L)), List.of(), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        byte[] pad = model(13, List.of(node("Pad", List.of("x", "pads"), List.of("y"),
                        new W().str(1, "mode").varint(20, OnnxFormat.ATTR_STRING).str(4, "edge"))),
                List.of(empty, int64Init("pads", new long[] {4}, 0, 0, 0, 2_147_483_000L)), List.of(), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        for (byte[] m : List.of(resize, pad)) {
            try (OnnxModel om = OnnxModel.parse(m)) {
                assertThat(om.run().get(0).numel()).isZero();
            }
        }
    }

    /** Expand of a scalar to 2^31 - 648 elements: 16 GB off-heap asked for, where ConstantOfShape is bounded by the read limit. */
    @Test
    void expandToAHugeShapeIsRefusedCleanly() {
        byte[] m = model(13, List.of(node("Expand", List.of("v", "shape"), List.of("y"))),
                List.of(int64Init("v", new long[] {}, 7), int64Init("shape", new long[] {1}, 2_147_483_000L)),
                List.of(), List.of(valueInfo("y", OnnxFormat.INT64)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            assertThatThrownBy(om::run).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Expand");
        }
    }

    /** A tensor input whose type carries a denotation ("IMAGE"): refused as "a sequence, map or optional value". */
    @Test
    void anInputWithATypeDenotationIsATensor() {
        W shape = new W().msg(1, new W().varint(1, 2));
        W typed = new W().str(1, "x").msg(2, new W().msg(1, new W().varint(1, OnnxFormat.FLOAT).msg(2, shape)).str(6, "IMAGE"));
        byte[] m = model(13, List.of(node("Relu", List.of("x"), List.of("y"))), List.of(), List.of(typed), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m); Tensor x = Tensor.of(new float[] {-1, 2}, 2)) {
            assertThat(om.run(x).get(0).toFloatArray()).containsExactly(0f, 2f);
        }
    }

    /** A float32 initializer of the given dims, every value 1 (raw data). */
    static W onesInit(String name, long... dims) {
        W t = new W();
        long count = 1;
        for (long d : dims) {
            t.varint(1, d);
            count *= d;
        }
        java.nio.ByteBuffer raw = java.nio.ByteBuffer.allocate((int) count * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < count; i++) {
            raw.putFloat(1f);
        }
        return t.varint(2, OnnxFormat.FLOAT).str(8, name).bytes(9, raw.array());
    }

    /** Child JVM (64 MB off-heap budget): a broadcast Add of [4096, 1] and [1, 4096] asks for 64 MB. Prints what it threw. */
    public static void main(String[] args) {
        byte[] m = model(13, List.of(node("Add", List.of("a", "b"), List.of("y"))), List.of(onesInit("a", 4096, 1), onesInit("b", 1, 4096)),
                List.of(), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            om.run();
            System.out.println("threw nothing");
        } catch (Throwable t) {
            System.out.println("threw " + t.getClass().getName() + ": " + t.getMessage());
        }
    }

    /** A result over the off-heap budget (the pool refuses it before taking anything) is the graph's fault: IllegalArgumentException naming the node. */
    @Test
    void aBroadcastOverTheOffHeapBudgetIsRefusedCleanly() throws Exception {
        String line = dev.lanes.ChildJvm.lastLine(OnnxHostileGraphTest.class, List.of("-Dlanes.memory.budget=64m"), List.of(), "threw ", 120);
        assertThat(line).startsWith("java.lang.IllegalArgumentException").contains("Add").contains("off-heap budget");
    }

    /** Folded integer Range near 2^62: its length computed through double was 0 (the end rounded onto the start). */
    @Test
    void foldedIntegerRangeIsExactForHugeValues() {
        long big = 1L << 62;
        byte[] m = model(13, List.of(node("Range", List.of("s", "l", "d"), List.of("y"))),
                List.of(int64Init("s", new long[] {}, big), int64Init("l", new long[] {}, big + 3), int64Init("d", new long[] {}, 1)),
                List.of(), List.of(valueInfo("y", OnnxFormat.INT64)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            assertThat(om.run().get(0).toLongArray()).containsExactly(big, big + 1, big + 2);
        }
        // a span that overflows against the step's direction is empty (lim - s0 wrapped to 1: [MAX] before)
        byte[] backwards = model(13, List.of(node("Range", List.of("s", "l", "d"), List.of("y"))),
                List.of(int64Init("s", new long[] {}, Long.MAX_VALUE), int64Init("l", new long[] {}, Long.MIN_VALUE), int64Init("d", new long[] {}, 1)),
                List.of(), List.of(valueInfo("y", OnnxFormat.INT64)));
        try (OnnxModel om = OnnxModel.parse(backwards)) {
            assertThat(om.run().get(0).numel()).isZero();
        }
    }

    /** A folded Reshape to [-2, -2] (4 values): the product of the dims matched, so it was taken (Shape then read [-2, -2]); ONNX allows only -1. */
    @Test
    void foldedReshapeToNegativeDimsIsRefusedCleanly() {
        byte[] m = model(13, List.of(node("Reshape", List.of("v", "shape"), List.of("r")), node("Shape", List.of("r"), List.of("y"))),
                List.of(int64Init("v", new long[] {4}, 1, 2, 3, 4), int64Init("shape", new long[] {2}, -2, -2)),
                List.of(), List.of(valueInfo("y", OnnxFormat.INT64)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            refusedCleanly(om::run);
        }
    }

    /** Flatten of an empty constant whose other dims multiply past 2^63: the product wrapped into a wrong shape (which Shape read). */
    @Test
    void flattenOfAShapeWhoseProductOverflowsIsRefusedCleanly() {
        long d = Integer.MAX_VALUE;
        byte[] m = model(13, List.of(node("Flatten", List.of("v"), List.of("f")), node("Shape", List.of("f"), List.of("y"))),
                List.of(int64Init("v", new long[] {0, d, d, d})), List.of(), List.of(valueInfo("y", OnnxFormat.INT64)));
        // refused at load now: the empty constant's strides would pass 2^31 (they wrapped)
        refusedCleanly(() -> {
            try (OnnxModel om = OnnxModel.parse(m)) {
                om.run();
            }
        });
    }

    /** Opset 6's Add with broadcast = 1 and an axis aligns y at that axis: refused rather than summed by numpy's rule. */
    @Test
    void legacyAxisBroadcastingIsRefused() {
        byte[] m = model(6, List.of(node("Add", List.of("x", "y"), List.of("z"), new W().str(1, "broadcast").varint(20, OnnxFormat.ATTR_INT).varint(3, 1),
                        new W().str(1, "axis").varint(20, OnnxFormat.ATTR_INT).varint(3, 0))),
                List.of(onesInit("x", 2, 3), onesInit("y", 2)), List.of(), List.of(valueInfo("z", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            assertThatThrownBy(om::run).isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("legacy broadcasting");
        }
    }

    /** Concat of opsets 1-3 without an axis joins along axis 1 (its default then); Lanes took 0. */
    @Test
    void oldConcatDefaultsToAxisOne() {
        byte[] m = model(3, List.of(node("Concat", List.of("a", "b"), List.of("y"))), List.of(onesInit("a", 2, 1), onesInit("b", 2, 1)),
                List.of(), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            assertThat(om.run().get(0).shape()).containsExactly(2, 2);
        }
    }

    // ---- graph-level checks (helper-48's audit; each refused case ran before) ----


    /** A node output that redefines a name (Relu(x) -> x) replaced it for every later reader: ONNX Runtime refuses it. */
    @Test
    void aNameDefinedTwiceIsRefusedAtLoad() {
        byte[] m = model(13, List.of(node("Relu", List.of("x"), List.of("x")), node("Identity", List.of("x"), List.of("y"))), List.of(),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 2)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        assertThatThrownBy(() -> OnnxModel.parse(m)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("duplicate definition");
        byte[] twoInits = model(13, List.of(node("Add", List.of("x", "w"), List.of("y"))),
                List.of(int64Init("w", new long[] {1}, 1), int64Init("w", new long[] {1}, 2)),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 1)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        assertThatThrownBy(() -> OnnxModel.parse(twoInits)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("two initializers");
        byte[] later = model(13, List.of(node("Identity", List.of("z"), List.of("y")), node("Relu", List.of("x"), List.of("z"))), List.of(),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 2)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        assertThatThrownBy(() -> OnnxModel.parse(later)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("topological order");
    }

    /**
     * Names are strict UTF-8: ASCII ones take ProtoReader's copy, others its decoder (non-ASCII names load and keep
     * their characters), and a name whose bytes are not UTF-8 (a truncated two-byte sequence) is refused.
     */
    @Test
    void namesAreUtf8AndOnlyUtf8() {
        byte[] m = model(13, List.of(node("Relu", List.of("x\u00e9"), List.of("y\u2192z"))), List.of(),
                List.of(valueInfo("x\u00e9", OnnxFormat.FLOAT, 2)), List.of(valueInfo("y\u2192z", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m); Tensor x = Tensor.of(new float[] {-1f, 2f}, 2)) {
            assertThat(om.inputNames()).containsExactly("x\u00e9");
            try (Tensor y = om.forward(x)) {
                assertThat(y.toFloatArray()).containsExactly(0f, 2f);
            }
        }
        W bad = new W().bytes(1, new byte[] {'x', (byte) 0xc3}).str(2, "y").str(4, "Relu");
        W g = new W().msg(1, bad).str(2, "g").msg(11, valueInfo("x", OnnxFormat.FLOAT, 2)).msg(12, valueInfo("y", OnnxFormat.FLOAT));
        byte[] broken = new W().varint(1, 8).msg(7, g).msg(8, new W().str(1, "").varint(2, 13)).done();
        assertThatThrownBy(() -> OnnxModel.parse(broken)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not valid UTF-8");
    }

    /** An attribute of another type than the op's (axes as an INT for ReduceMean read as none: every dim reduced). */
    @Test
    void anAttributeOfTheWrongTypeIsRefused() {
        byte[] m = model(13, List.of(node("ReduceMean", List.of("x"), List.of("y"), intAttr("axes", 1))), List.of(),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 2, 3)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m); Tensor x = Tensor.randn(2, 3)) {
            assertThatThrownBy(() -> om.run(x)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mismatched attribute type");
        }
    }

    /** A Concat of integers known at load is bounded like every other fold (1,000 inputs of 2^20 values asked for 8 GB of heap). */
    @Test
    void aHugeFoldedConcatIsRefused() {
        W shape = int64Init("shape", new long[] {1}, 1 << 19);
        W seven = new W().str(1, "value").varint(20, OnnxFormat.ATTR_TENSOR).msg(5, new W().varint(1, 1).varint(2, OnnxFormat.INT64).varint(7, 7));
        byte[] m = model(13, List.of(node("ConstantOfShape", List.of("shape"), List.of("c"), seven),
                        node("Concat", List.of("c", "c", "c"), List.of("cc"), intAttr("axis", 0)),
                        node("Shape", List.of("x"), List.of("s")), node("Add", List.of("x", "x"), List.of("y"))),
                List.of(shape), List.of(valueInfo("x", OnnxFormat.FLOAT, 2)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m); Tensor x = Tensor.randn(2)) {
            assertThatThrownBy(() -> om.run(x)).isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("Concat");
        }
    }

    /**
     * Outputs that are the caller's input or the model's own initializer come back as copies (closing one closed the
     * caller's tensor or broke every later run), and an initializer no node reads is an output as ONNX Runtime gives it.
     */
    @Test
    void outputsThatAliasInputsOrWeightsAreCopies() {
        byte[] m = model(13, List.of(node("Identity", List.of("x"), List.of("y"))), List.of(int64Init("w", new long[] {2}, 4, 5)),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 2)),
                List.of(valueInfo("y", OnnxFormat.FLOAT), valueInfo("x", OnnxFormat.FLOAT), valueInfo("w", OnnxFormat.INT64)));
        try (OnnxModel om = OnnxModel.parse(m); Tensor x = Tensor.of(new float[] {1, 2}, 2)) {
            List<Tensor> out = om.run(x);
            assertThat(out.get(1)).isNotSameAs(x);
            assertThat(out.get(2).toLongArray()).containsExactly(4, 5);
            out.forEach(Tensor::close);
            assertThat(x.toFloatArray()).containsExactly(1f, 2f);
            assertThat(om.run(x).get(2).toLongArray()).containsExactly(4, 5);
        }
    }

    /**
     * Sizes the file's bytes do not show are bounded for the whole model, not one field at a time: int8 tensors decode
     * to 8 bytes a value (two of 300 bytes each passed a 4 KB limit one by one, 4,800 bytes decoded), a packed int64
     * field of one-byte varints grows its list 8x before the tensor's dims are checked, a million and one empty node
     * inputs (2 bytes each, ~20x in heap), a tensor of 100 dims.
     */
    @Test
    void amplifyingFieldsAreBoundedForTheWholeModel() {
        String saved = System.getProperty("lanes.io.maxBytes");
        System.setProperty("lanes.io.maxBytes", "4k");
        try {
            List<W> bytes = List.of(uint8Init("a", 300), uint8Init("b", 300));
            byte[] m = model(13, List.of(node("Identity", List.of("a"), List.of("y"))), bytes, List.of(), List.of(valueInfo("y", OnnxFormat.UINT8)));
            assertThatThrownBy(() -> OnnxFormat.parse(m, null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("decode to more than 4096");
            W packed = new W().varint(1, 1).varint(2, OnnxFormat.INT64).str(8, "p").bytes(7, new byte[1000]); // 1000 zero varints, dims [1]
            byte[] p = model(13, List.of(node("Identity", List.of("p"), List.of("y"))), List.of(packed), List.of(), List.of(valueInfo("y", OnnxFormat.INT64)));
            assertThatThrownBy(() -> OnnxFormat.parse(p, null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than 512 values (their 8 bytes");
        } finally {
            if (saved == null) {
                System.clearProperty("lanes.io.maxBytes");
            } else {
                System.setProperty("lanes.io.maxBytes", saved);
            }
        }
        W wide = new W();
        for (int i = 0; i <= OnnxFormat.MAX_ITEMS; i++) {
            wide.str(1, "");
        }
        wide.str(4, "Sum").str(2, "y");
        byte[] many = model(13, List.of(wide), List.of(), List.of(), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        assertThatThrownBy(() -> OnnxFormat.parse(many, null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than 1048576");
        W deep = new W().varint(2, OnnxFormat.FLOAT).str(8, "d");
        for (int i = 0; i < 100; i++) {
            deep.varint(1, 1);
        }
        deep.bytes(9, new byte[4]);
        byte[] d = model(13, List.of(node("Identity", List.of("d"), List.of("y"))), List.of(deep), List.of(), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        assertThatThrownBy(() -> OnnxFormat.parse(d, null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than 64 values (a tensor's rank");
    }

    private static W uint8Init(String name, int n) {
        return new W().varint(1, n).varint(2, OnnxFormat.UINT8).str(8, name).bytes(9, new byte[n]);
    }

    /**
     * Squeeze with an empty axes list squeezes every dim of size 1, as ONNX Runtime does (it squeezed none: [1, 3, 1]
     * stayed, and an Add after it broadcast to [1, 3, 3]); an uneven Split before opset 18 is refused, as ONNX Runtime
     * refuses it (it took opset 18's rule, 5 into 3 + 2).
     */
    @Test
    void squeezeWithEmptyAxesAndUnevenSplitsFollowOnnxRuntime() {
        byte[] sq = model(11, List.of(node("Squeeze", List.of("x"), List.of("y"), ints("axes"))), List.of(),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 1, 3, 1)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(sq)) {
            assertThat(om.run(Tensor.randn(1, 3, 1)).get(0).shape()).containsExactly(3);
        }
        byte[] split = model(13, List.of(node("Split", List.of("x"), List.of("a", "b"))), List.of(),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 5)), List.of(valueInfo("a", OnnxFormat.FLOAT), valueInfo("b", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(split)) {
            assertThatThrownBy(() -> om.run(Tensor.randn(5))).hasMessageContaining("cannot be split evenly");
        }
        byte[] even = model(13, List.of(node("Split", List.of("x"), List.of("a", "b"))), List.of(),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 6)), List.of(valueInfo("a", OnnxFormat.FLOAT), valueInfo("b", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(even)) {
            assertThat(om.run(Tensor.randn(6)).get(1).shape()).containsExactly(3);
        }
    }

    /**
     * An input against its declared shape, as ONNX Runtime checks it: another rank or another fixed dim is refused (a
     * model declared [1, 4] given [4] answered [4]), the batch too when it is fixed: a graph that folded it (Reshape to
     * [1, -1], then ReduceSum) summed three images into one answer when the batch was left free. A symbolic batch is free.
     */
    @Test
    void inputsAreCheckedAgainstTheirDeclaredShape() {
        byte[] m = model(13, List.of(node("Relu", List.of("x"), List.of("y"))), List.of(),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 1, 4)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(m)) {
            assertThatThrownBy(() -> om.run(Tensor.randn(4))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("declared [1, 4]");
            assertThatThrownBy(() -> om.run(Tensor.randn(1, 5))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got [1, 5]");
            assertThatThrownBy(() -> om.plan(4)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> om.run(Tensor.randn(3, 4))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dynamic_axes");
            assertThat(om.run(Tensor.randn(1, 4)).get(0).shape()).containsExactly(1, 4);
        }
        W keepdims = new W().str(1, "keepdims").varint(20, OnnxFormat.ATTR_INT).varint(3, 0);
        byte[] folded = model(13, List.of(node("Reshape", List.of("x", "shape"), List.of("r")), node("ReduceSum", List.of("r", "axes"), List.of("y"),
                keepdims)), List.of(int64Init("shape", new long[] {2}, 1, -1), int64Init("axes", new long[] {1}, 1)),
                List.of(valueInfo("x", OnnxFormat.FLOAT, 1, 4)), List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(folded)) {
            assertThatThrownBy(() -> om.run(Tensor.ones(3, 4))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("declared [1, 4]");
            assertThat(om.run(Tensor.ones(1, 4)).get(0).toFloatArray()).containsExactly(4f);
        }
        W batchShape = new W().msg(1, new W().str(2, "batch")).msg(1, new W().varint(1, 4)); // dim_param "batch", then 4
        W symbolic = new W().str(1, "x").msg(2, new W().msg(1, new W().varint(1, OnnxFormat.FLOAT).msg(2, batchShape)));
        byte[] dynamic = model(13, List.of(node("Relu", List.of("x"), List.of("y"))), List.of(), List.of(symbolic),
                List.of(valueInfo("y", OnnxFormat.FLOAT)));
        try (OnnxModel om = OnnxModel.parse(dynamic)) {
            assertThat(om.run(Tensor.randn(3, 4)).get(0).shape()).containsExactly(3, 4); // a symbolic batch is free
        }
    }
}
