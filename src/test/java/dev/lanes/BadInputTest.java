package dev.lanes;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Each bad input fails with a clear exception naming the shapes or values at fault. */
class BadInputTest {
    @Test
    void broadcastMismatchNamesBothSizes() {
        try (Tensor a = Tensor.zeros(2, 3); Tensor b = Tensor.zeros(2, 4)) {
            assertThatThrownBy(() -> a.add(b)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1");
        }
    }

    @Test
    void inPlaceCannotGrowTheOutput() {
        try (Tensor a = Tensor.zeros(3); Tensor b = Tensor.zeros(2, 3)) {
            assertThatThrownBy(() -> a.add_(b)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("output with shape [3] doesn't match the broadcast shape [2, 3]");
        }
    }

    @Test
    void inPlaceOnExpandedViewRefused() {
        try (Tensor a = Tensor.zeros(1, 3); Tensor e = a.expand(4, 3)) {
            assertThatThrownBy(() -> e.add_(1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("more than one element of the written-to tensor refers to a single memory location");
        }
    }

    @Test
    void badViewSizes() {
        try (Tensor a = Tensor.zeros(2, 3)) {
            assertThatThrownBy(() -> a.view(4, 2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("shape '[4, 2]' is invalid for input of size 6");
            assertThatThrownBy(() -> a.view(-1, -1)).hasMessageContaining("only one dimension can be inferred");
            assertThatThrownBy(() -> a.view(-1, 4)).hasMessageContaining("shape '[-1, 4]' is invalid for input of size 6");
            assertThatThrownBy(() -> a.t().view(6)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("view size is not compatible with input tensor's size and stride")
                    .hasMessageContaining("Use .reshape(...) instead");
        }
    }

    @Test
    void dimsOutOfRange() {
        try (Tensor a = Tensor.zeros(2, 3)) {
            assertThatThrownBy(() -> a.sum(2)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("Dimension out of range (expected to be in range of [-2, 1], but got 2)");
            assertThatThrownBy(() -> a.transpose(0, -3)).hasMessageContaining("but got -3");
            assertThatThrownBy(() -> a.unsqueeze(4)).hasMessageContaining("[-3, 2], but got 4");
            assertThatThrownBy(() -> a.select(0, 2)).hasMessageContaining("select(): index 2 out of range for tensor of size [2, 3] at dimension 0");
            assertThatThrownBy(() -> a.narrow(1, 2, 2)).hasMessageContaining("start (2) + length (2) exceeds dimension size (3).");
            assertThatThrownBy(() -> a.permute(0, 0)).hasMessageContaining("duplicate dims are not allowed");
            assertThatThrownBy(() -> a.permute(0)).hasMessageContaining("input.dim() = 2 is not equal to len(dims) = 1");
        }
    }

    @Test
    void negativeAndOversizedShapes() {
        assertThatThrownBy(() -> Tensor.zeros(2, -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Trying to create tensor with negative dimension -1: [2, -1]");
        assertThatThrownBy(() -> Tensor.empty(65536, 65536)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[65536, 65536]").hasMessageContaining("Integer.MAX_VALUE");
        assertThatThrownBy(() -> Tensor.of(new float[5], 2, 3)).hasMessageContaining("shape [2, 3] needs 6 values but the array has 5");
    }

    @Test
    void int64GivenToFloatOnlyOps() {
        try (Tensor l = Tensor.arange(0, 3); Tensor f = Tensor.zeros(3)) {
            assertThatThrownBy(l::exp).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("exp: expected a float32 tensor but got int64 tensor of shape [3]");
            assertThatThrownBy(() -> f.add(l)).hasMessageContaining("add: expected a float32 tensor but got int64");
            assertThatThrownBy(l::sum).hasMessageContaining("sum: expected a float32 tensor");
            assertThatThrownBy(() -> l.mm(l)).hasMessageContaining("mm: expected a float32 tensor");
        }
    }

    @Test
    void matmulShapeErrors() {
        try (Tensor a = Tensor.zeros(2, 3); Tensor b = Tensor.zeros(4, 5); Tensor v3 = Tensor.zeros(3); Tensor v4 = Tensor.zeros(4)) {
            assertThatThrownBy(() -> a.mm(b)).hasMessageContaining("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
            assertThatThrownBy(() -> a.matmul(b)).hasMessageContaining("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
            assertThatThrownBy(() -> v3.matmul(v4)).hasMessageContaining("inconsistent tensor size");
            assertThatThrownBy(() -> v3.mm(a)).hasMessageContaining("self must be a matrix, got shape [3]");
            assertThatThrownBy(() -> a.unsqueeze(0).bmm(b.unsqueeze(0))).hasMessageContaining("Expected size for first two dimensions of batch2 tensor to be: [1, 3] but got: [1, 4].");
        }
    }

    /**
     * matmul's mismatches in PyTorch 1.13's words, as its folding hands the operands to mm, mv or bmm (each with and
     * without a graph: one check for both), then the operands' shapes; Linear's as its GEMM's.
     */
    @Test
    void matmulMismatchesNameTheFoldedProductAsPyTorch() {
        String[][] cases = { // shape a, shape b, torch 1.13's message
                {"2,3,5", "4,2", "mat1 and mat2 shapes cannot be multiplied (6x5 and 4x2)"},
                {"2,3,4", "2,5,6", "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 5]."},
                {"1,3,4", "2,5,6", "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 5]."},
                {"2,2,3,4", "2,5,6", "Expected size for first two dimensions of batch2 tensor to be: [4, 4] but got: [4, 5]."},
                {"3,3,4", "2,4,5", "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 0"},
                {"3,5", "4,2", "mat1 and mat2 shapes cannot be multiplied (3x5 and 4x2)"},
                {"4", "5,2", "mat1 and mat2 shapes cannot be multiplied (1x4 and 5x2)"},
                {"3,19", "20", "size mismatch, got 3, 3x19,20"},
                {"2,3,4", "5", "size mismatch, got 6, 6x4,5"},
                {"2,2,3,4", "5,2", "mat1 and mat2 shapes cannot be multiplied (12x4 and 5x2)"},
                {"3,4", "2,5,5", "mat1 and mat2 shapes cannot be multiplied (10x5 and 4x3)"},
                {"3,4", "2,2,5,5", "mat1 and mat2 shapes cannot be multiplied (20x5 and 4x3)"},
                {"4", "2,5,6", "size mismatch, got 12, 12x5,4"},
                {"5", "2,4,3", "size mismatch, got 6, 6x4,5"}};
        for (String[] c : cases) {
            int[] sa = java.util.Arrays.stream(c[0].split(",")).mapToInt(Integer::parseInt).toArray();
            int[] sb = java.util.Arrays.stream(c[1].split(",")).mapToInt(Integer::parseInt).toArray();
            for (boolean grad : new boolean[] {false, true}) {
                Tensor a = Tensor.zeros(sa).requiresGrad(grad);
                Tensor b = Tensor.zeros(sb);
                assertThatThrownBy(() -> a.matmul(b)).as("[%s] @ [%s], requiresGrad %s", c[0], c[1], grad)
                        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(c[2]);
            }
        }
        dev.lanes.nn.Linear fc = new dev.lanes.nn.Linear(4, 2);
        assertThatThrownBy(() -> fc.forward(Tensor.ones(3, 5))).hasMessageStartingWith("mat1 and mat2 shapes cannot be multiplied (3x5 and 4x2)");
        assertThatThrownBy(() -> fc.forward(Tensor.ones(2, 3, 5))).hasMessageStartingWith("mat1 and mat2 shapes cannot be multiplied (6x5 and 4x2)");
        assertThatThrownBy(() -> fc.forward(Tensor.ones(5))).hasMessageStartingWith("mat1 and mat2 shapes cannot be multiplied (1x5 and 4x2)");
    }

    @Test
    void expandAndItemErrors() {
        try (Tensor a = Tensor.zeros(2, 3)) {
            assertThatThrownBy(() -> a.expand(2, 4)).hasMessageContaining("The expanded size of the tensor (4) must match the existing size (3) at non-singleton dimension 1");
            assertThatThrownBy(a::item).hasMessageContaining("a Tensor with 6 elements cannot be converted to Scalar");
            assertThatThrownBy(() -> a.max(1).values().copy_(Tensor.zeros(3))).hasMessageContaining("The size of tensor a (2) must match the size of tensor b (3)");
            assertThatThrownBy(() -> a.get(0).copy_(Tensor.zeros(2, 3))).hasMessageContaining("copy_: source of shape [2, 3] cannot be broadcast to [3]");
            assertThatThrownBy(() -> Tensor.zeros(0).max()).hasMessageContaining("max(): cannot perform reduction on a tensor with no elements");
            assertThatThrownBy(() -> Tensor.randint(5, 5, 2)).hasMessageContaining("from=5 >= to=5");
        }
    }

    // ---- from a read-only helper review (stop 33) ----

    /** index_select of a 0-d tensor with no index left its result unwritten (a pooled block's old bytes); two wrote past it. */
    @Test
    void indexSelectOfAScalarTakesExactlyOneIndex() {
        try (Tensor x = Tensor.scalar(1f); Tensor none = Tensor.of(new long[0], 0); Tensor two = Tensor.of(new long[] {0, 0}, 2);
             Tensor one = Tensor.of(new long[] {0}, 1); Tensor y = x.indexSelect(0, one)) {
            assertThatThrownBy(() -> x.indexSelect(0, none)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("only 1 value");
            assertThatThrownBy(() -> x.indexSelect(0, two)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("only 1 value");
            org.assertj.core.api.Assertions.assertThat(y.item()).isEqualTo(1f);
        }
    }

    /**
     * An in-place op whose operand overlaps self at another offset read elements it had already written, in an order
     * that depends on the vector width: refused like PyTorch. The same elements (x.add_(x)) and interleaved columns that
     * share no element stay allowed.
     */
    @Test
    void inPlaceOpsRefuseAPartiallyOverlappingOperand() {
        try (Tensor x = Tensor.arange(0.0, 10.0, 1.0); Tensor tail = x.narrow(0, 1, 9); Tensor head = x.narrow(0, 0, 9)) {
            assertThatThrownBy(() -> tail.add_(head)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("single memory location");
            assertThatThrownBy(() -> tail.copy_(head)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("single memory location");
            org.assertj.core.api.Assertions.assertThat(x.toFloatArray()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9); // untouched
            x.add_(x);
            org.assertj.core.api.Assertions.assertThat(x.toFloatArray()).containsExactly(0, 2, 4, 6, 8, 10, 12, 14, 16, 18);
        }
        try (Tensor m = Tensor.arange(0.0, 6.0, 1.0).reshape(3, 2); Tensor c0 = m.select(1, 0); Tensor c1 = m.select(1, 1)) {
            c0.add_(c1);
            org.assertj.core.api.Assertions.assertThat(m.toFloatArray()).containsExactly(1, 1, 5, 3, 9, 5);
        }
        // the same memory in another order (a transpose of self) gave [[2, 5], [8, 8]] instead of PyTorch's refusal
        try (Tensor sq = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2); Tensor t = sq.t(); Tensor cube = Tensor.arange(0.0, 8.0, 1.0).reshape(2, 2, 2);
             Tensor swapped = cube.transpose(0, 2)) {
            assertThatThrownBy(() -> sq.add_(t)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("single memory location");
            assertThatThrownBy(() -> sq.copy_(t)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("single memory location");
            assertThatThrownBy(() -> t.mul_(sq)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("single memory location");
            org.assertj.core.api.Assertions.assertThat(sq.toFloatArray()).containsExactly(1, 2, 3, 4); // untouched
            t.add_(t); // the same layout, element for element
            org.assertj.core.api.Assertions.assertThat(sq.toFloatArray()).containsExactly(2, 4, 6, 8);
            assertThatThrownBy(() -> cube.sub_(swapped)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("single memory location");
        }
    }

    /** An empty narrow at the end of a dim kept an offset past its storage: copying it out threw from the memory layer. */
    @Test
    void emptyNarrowsAtTheEndStayInsideTheStorage() {
        try (Tensor x = Tensor.zeros(2, 3); Tensor a = x.narrow(1, 3, 0); Tensor b = a.narrow(0, 2, 0)) {
            org.assertj.core.api.Assertions.assertThat(b.toFloatArray()).isEmpty();
            org.assertj.core.api.Assertions.assertThat(b.shape()).containsExactly(0, 0);
        }
    }

    /** Tensor.of(float[][]) multiplied rows by columns in int (NegativeArraySizeException) and took null rows as NullPointerException. */
    @Test
    void rowsOfTooManyElementsOrNullAreRefused() {
        float[] row = new float[65536];
        float[][] rows = new float[65536][];
        java.util.Arrays.fill(rows, row); // 2^32 elements, 256 KB of heap
        assertThatThrownBy(() -> Tensor.of(rows)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2^31");
        assertThatThrownBy(() -> Tensor.of(new float[][] {{1f}, null})).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("row 1");
    }

    /** chunk / split of an empty tensor into ~2^31 empty views: a 2^31-entry size table (OutOfMemoryError). */
    @Test
    void anEmptyTensorIsNotCutIntoBillionsOfPieces() {
        try (Tensor e = Tensor.zeros(0); Tensor wide = Tensor.zeros(0, Integer.MAX_VALUE)) {
            assertThatThrownBy(() -> e.chunk(Integer.MAX_VALUE, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pieces");
            assertThatThrownBy(() -> wide.split(1, 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pieces");
            org.assertj.core.api.Assertions.assertThat(e.chunk(3, 0)).hasSize(3); // PyTorch's empty pieces, a few
        }
    }

    /** flatten of an empty tensor whose flattened dims multiply past an int: the product wrapped to a [0, 0] shape. */
    @Test
    void flattenRefusesAProductPastAnInt() {
        // [0, 65536, 65536] itself is refused now (its first stride, 2^32, does not fit Lanes' int strides)
        try (Tensor e = Tensor.zeros(65536, 65536, 0)) {
            assertThatThrownBy(() -> e.flatten(0, 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2^31");
        }
    }
}
