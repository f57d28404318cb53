package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.autograd.Autograd;
import dev.lanes.io.SafeTensors;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bool dtype: comparisons and logical ops return bool tensors like PyTorch's (their values against PyTorch are
 * rows of the op table); here the rest of what a bool is for: PyTorch's accuracy idiom, sums that count, printing,
 * conversions, masks for where and masked_fill (also inside a traced plan), files, and the errors that name it.
 */
class BoolTest {
    /** {@code (logits.argmax(1) == y).sum().item()}: int64 against int64, a bool, an int64 count. */
    @Test
    void theAccuracyIdiomWorksLikePyTorchs() {
        try (Tensor logits = Tensor.of(new float[][] {{0.1f, 2f, 0f}, {3f, 0f, 1f}, {0f, 0f, 5f}, {1f, 0f, 0f}});
             Tensor y = Tensor.of(new long[] {1, 0, 1, 0});
             Tensor pred = logits.argmax(1); Tensor hit = pred.eq(y); Tensor count = hit.sum()) {
            assertThat(hit.dtype()).isEqualTo(DType.BOOL);
            assertThat(hit.toString()).isEqualTo("tensor([ True,  True, False,  True])");
            assertThat(count.dtype()).isEqualTo(DType.INT64);
            assertThat(count.longItem()).isEqualTo(3);
            assertThat(count.toString()).isEqualTo("tensor(3)");
        }
    }

    @Test
    void sumsCountAndConversionsGiveZeroAndOne() {
        try (Tensor x = Tensor.of(new float[] {-1f, 0f, 2f, Float.NaN, 3f, -0f}, 2, 3);
             Tensor pos = x.gt(0); Tensor perRow = pos.sum(1); Tensor perCol = pos.sum(0, true); Tensor f = pos.toFloat(); Tensor l = pos.toLong();
             Tensor nz = x.toType(DType.BOOL)) {
            assertThat(perRow.toLongArray()).containsExactly(1, 1);
            assertThat(perCol.shape()).containsExactly(1, 3);
            assertThat(perCol.toLongArray()).containsExactly(0, 1, 1);
            assertThat(f.toFloatArray()).containsExactly(0f, 0f, 1f, 0f, 1f, 0f);
            assertThat(l.toLongArray()).containsExactly(0, 0, 1, 0, 1, 0);
            assertThat(nz.toLongArray()).as("nonzero is true, NaN too, -0 is not").containsExactly(1, 0, 1, 1, 1, 0);
            assertThat(pos.toString()).isEqualTo("tensor([[False, False,  True],\n        [False,  True, False]])");
        }
        try (Tensor t = Tensor.of(new boolean[] {true}, 1); Tensor empty = Tensor.of(new boolean[0])) {
            assertThat(t.boolItem()).isTrue();
            assertThat(t.item()).isEqualTo(1f);
            assertThat(empty.toString()).isEqualTo("tensor([], dtype=torch.bool)");
        }
    }

    /** Integers compare exactly as integers; next to a float they are promoted to float32, like PyTorch. */
    @Test
    void comparisonsPromoteLikePyTorch() {
        long big = (1L << 40) + 1;
        try (Tensor a = Tensor.of(new long[] {big, 2, 3}); Tensor b = Tensor.of(new long[] {1L << 40, 2, 4}); Tensor f = Tensor.of(new float[] {2.5f, 2f, 3f});
             Tensor exact = a.eq(b); Tensor half = a.gt(2.5); Tensor mixed = a.ge(f); Tensor scalar = a.eq(2)) {
            assertThat(exact.toLongArray()).containsExactly(0, 1, 0);
            assertThat(half.toLongArray()).containsExactly(1, 0, 1);
            assertThat(mixed.toLongArray()).containsExactly(1, 1, 1);
            assertThat(scalar.toLongArray()).containsExactly(0, 1, 0);
        }
        try (Tensor p = Tensor.of(new boolean[] {true, true, false, false}); Tensor q = Tensor.of(new boolean[] {true, false, true, false});
             Tensor and = p.logicalAnd(q); Tensor or = p.logicalOr(q); Tensor xor = p.logicalXor(q); Tensor not = p.logicalNot(); Tensor eq = p.eq(q)) {
            assertThat(and.toLongArray()).containsExactly(1, 0, 0, 0);
            assertThat(or.toLongArray()).containsExactly(1, 1, 1, 0);
            assertThat(xor.toLongArray()).containsExactly(0, 1, 1, 0);
            assertThat(not.toLongArray()).containsExactly(0, 0, 1, 1);
            assertThat(eq.toLongArray()).containsExactly(1, 0, 0, 1);
        }
    }

    /** A bool mask from the input feeds where and masked_fill, eagerly and in a plan (a bool slot). */
    @Test
    void masksComputedFromTheInputWorkEagerAndInAPlan() {
        Lanes.manualSeed(8);
        try (Tensor causal = Tensor.ones(4, 4).tril().eq(0)) { // made outside forward: a constant
            Function<Tensor, Tensor> f = x -> {
                Tensor leaky = Tensor.where(x.gt(0), x, x.mul(0.1));
                Tensor masked = leaky.maskedFill(causal, Double.NEGATIVE_INFINITY).softmax(-1);
                return masked.add(x.lt(-1).logicalOr(x.gt(1)).toFloat());
            };
            try (Autograd.Mode g = Autograd.noGrad(); Tensor x = Tensor.randn(2, 4, 4); Tensor want = f.apply(x);
                 InferencePlan plan = InferencePlan.trace(f::apply, 2, 4, 4)) {
                float[] got = new float[want.numel()];
                plan.run(x.toFloatArray(), got);
                assertThat(got).as("plan:\n%s", plan).containsExactly(want.toFloatArray());
                assertThat(plan.toString()).contains("-> bool", "where", "masked_fill", "to_float");
            }
        }
    }

    @Test
    void boolTensorsRoundTripThroughSafetensors(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("m.safetensors");
        try (Tensor m = Tensor.of(new boolean[] {true, false, true, true, false, false}, 2, 3)) {
            SafeTensors.save(Map.of("mask", m), file);
            try (Tensor back = SafeTensors.load(file).get("mask")) {
                assertThat(back.dtype()).isEqualTo(DType.BOOL);
                assertThat(back.shape()).containsExactly(2, 3);
                assertThat(back.toLongArray()).containsExactly(1, 0, 1, 1, 0, 0);
            }
        }
    }

    @Test
    void boolInArithmeticOrAutogradGetsAClearException() {
        try (Tensor m = Tensor.of(new boolean[] {true, false})) {
            assertThatThrownBy(() -> m.add(1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bool").hasMessageContaining("toFloat()");
            assertThatThrownBy(() -> m.requiresGrad(true)).isInstanceOf(RuntimeException.class).hasMessageContaining("float");
            assertThatThrownBy(() -> m.mean()).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bool");
        }
        Tensor closed = Tensor.ones(3);
        closed.close();
        assertThatThrownBy(() -> closed.gt(0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("released");
    }
}
