package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Creation, metadata and views: shapes, strides, storage sharing, copies. */
class TensorViewTest {
    @Test
    void creationShapesAndValues() {
        try (Tensor z = Tensor.zeros(2, 3); Tensor o = Tensor.ones(4); Tensor f = Tensor.full(new int[] {2}, 7.5f);
             Tensor e = Tensor.eye(2, 3); Tensor a = Tensor.arange(0, 10); Tensor af = Tensor.arange(0.0, 1.0, 0.25)) {
            assertThat(z.toFloatArray()).containsOnly(0f).hasSize(6);
            assertThat(o.toFloatArray()).containsExactly(1, 1, 1, 1);
            assertThat(f.toFloatArray()).containsExactly(7.5f, 7.5f);
            assertThat(e.toFloatArray()).containsExactly(1, 0, 0, 0, 1, 0);
            assertThat(a.dtype()).isEqualTo(DType.INT64);
            assertThat(a.toLongArray()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
            assertThat(af.toFloatArray()).containsExactly(0f, 0.25f, 0.5f, 0.75f);
            assertThat(Tensor.arange(10, 0, -3).toLongArray()).containsExactly(10, 7, 4, 1);
        }
    }

    @Test
    void walkthroughTargetIsArangeViewFloat() {
        try (Tensor t = Tensor.arange(0, 10).view(1, 10).toFloat()) {
            assertThat(t.size()).isEqualTo(Size.of(1, 10));
            assertThat(t.dtype()).isEqualTo(DType.FLOAT32);
            assertThat(t.toString()).isEqualTo("tensor([[0., 1., 2., 3., 4., 5., 6., 7., 8., 9.]])");
        }
    }

    @Test
    void seededRandomIsReproducible() {
        Lanes.manualSeed(7);
        float[] a = Tensor.randn(5).toFloatArray();
        float[] r = Tensor.rand(100).toFloatArray();
        long[] i = Tensor.randint(0, 10, 50).toLongArray();
        Lanes.manualSeed(7);
        assertThat(Tensor.randn(5).toFloatArray()).containsExactly(a);
        assertThat(Tensor.rand(100).toFloatArray()).containsExactly(r);
        assertThat(Tensor.randint(0, 10, 50).toLongArray()).containsExactly(i);
        for (float v : r) {
            assertThat(v).isGreaterThanOrEqualTo(0f).isLessThan(1f);
        }
        for (long v : i) {
            assertThat(v).isBetween(0L, 9L);
        }
    }

    /** uniform_ gives the bits rand(shape).mul(high - low).add(low) gives with the same seed, into views too. */
    @Test
    void uniformFillsInPlaceWithTheBitsOfRandMulAdd() {
        Lanes.manualSeed(9);
        float[] expected = Tensor.rand(6, 5).mul(0.75 - -0.25).add(-0.25).toFloatArray();
        Lanes.manualSeed(9);
        try (Tensor t = Tensor.zeros(6, 5)) {
            assertThat(t.uniform_(-0.25, 0.75)).isSameAs(t);
            assertThat(t.toFloatArray()).containsExactly(expected);
            for (float v : t.toFloatArray()) {
                assertThat(v).isBetween(-0.25f, 0.75f);
            }
            Lanes.manualSeed(9);
            float[] column6 = Tensor.rand(6).mul(3 - 2).add(2).toFloatArray();
            Lanes.manualSeed(9);
            Tensor column = t.select(1, 2); // a strided view: its elements get the draws in order, the others stay
            column.uniform_(2, 3);
            float[] after = t.toFloatArray();
            for (int i = 0; i < 30; i++) {
                assertThat(after[i]).as("element %d", i).isEqualTo(i % 5 == 2 ? column6[i / 5] : expected[i]);
            }
            assertThatThrownBy(() -> t.uniform_(1, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("from=1.0 > to=0.0");
            assertThatThrownBy(() -> t.uniform_(0, Double.POSITIVE_INFINITY)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("finite");
            assertThatThrownBy(() -> t.uniform_(-Double.MAX_VALUE, Double.MAX_VALUE)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("finite");
            assertThatThrownBy(() -> t.uniform_(-Float.MAX_VALUE, Float.MAX_VALUE)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("finite floats");
        }
        try (Tensor ids = Tensor.zerosLong(3)) {
            assertThatThrownBy(() -> ids.uniform_(0, 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("float32");
        }
    }

    @Test
    void randnHasUnitVariance() {
        Lanes.manualSeed(1);
        try (Tensor x = Tensor.randn(100_000)) {
            assertThat(x.mean().item()).isBetween(-0.02f, 0.02f);
            assertThat(x.std().item()).isBetween(0.98f, 1.02f);
        }
    }

    @Test
    void viewSharesStorageAndInfersMinusOne() {
        try (Tensor x = Tensor.arange(0.0, 24.0, 1.0); Tensor v = x.view(2, -1, 4)) {
            assertThat(v.size()).isEqualTo(Size.of(2, 3, 4));
            assertThat(v.sharesStorageWith(x)).isTrue();
            v.select(1, 2).fill_(-1);
            assertThat(x.toFloatArray()[8]).isEqualTo(-1f);
            assertThat(x.toFloatArray()[20]).isEqualTo(-1f);
        }
    }

    @Test
    void transposeThenReshapeCopiesButViewRefuses() {
        try (Tensor x = Tensor.arange(0.0, 6.0, 1.0).view(2, 3); Tensor t = x.t()) {
            assertThat(t.isContiguous()).isFalse();
            assertThat(t.stride()).containsExactly(1, 3);
            try (Tensor r = t.reshape(6)) {
                assertThat(r.sharesStorageWith(x)).isFalse();
                assertThat(r.toFloatArray()).containsExactly(0, 3, 1, 4, 2, 5);
            }
            try (Tensor c = t.contiguous()) {
                assertThat(c.isContiguous()).isTrue();
                assertThat(c.stride()).containsExactly(2, 1);
            }
            try (Tensor tt = t.view(3, 2)) { // same shape: viewable
                assertThat(tt.sharesStorageWith(x)).isTrue();
            }
        }
    }

    @Test
    void unsqueezeSqueezeFlattenPermute() {
        try (Tensor x = Tensor.zeros(2, 1, 3)) {
            assertThat(x.unsqueeze(0).size()).isEqualTo(Size.of(1, 2, 1, 3));
            assertThat(x.unsqueeze(-1).size()).isEqualTo(Size.of(2, 1, 3, 1));
            assertThat(x.squeeze().size()).isEqualTo(Size.of(2, 3));
            assertThat(x.squeeze(1).size()).isEqualTo(Size.of(2, 3));
            assertThat(x.squeeze(0).size()).isEqualTo(Size.of(2, 1, 3));
            assertThat(x.flatten().size()).isEqualTo(Size.of(6));
            assertThat(x.flatten(1, 2).size()).isEqualTo(Size.of(2, 3));
            assertThat(x.permute(2, 0, 1).size()).isEqualTo(Size.of(3, 2, 1));
            assertThat(x.size(-1)).isEqualTo(3);
            assertThat(x.dim()).isEqualTo(3);
            assertThat(x.numel()).isEqualTo(6);
        }
    }

    @Test
    void narrowSliceSelectExpand() {
        try (Tensor x = Tensor.arange(0.0, 12.0, 1.0).view(3, 4)) {
            assertThat(x.narrow(1, 1, 2).toFloatArray()).containsExactly(1, 2, 5, 6, 9, 10);
            assertThat(x.slice(1, -2, 100).toFloatArray()).containsExactly(2, 3, 6, 7, 10, 11);
            assertThat(x.slice(0, 0, 3, 2).toFloatArray()).containsExactly(0, 1, 2, 3, 8, 9, 10, 11);
            assertThat(x.select(1, -1).toFloatArray()).containsExactly(3, 7, 11);
            assertThat(x.get(1).toFloatArray()).containsExactly(4, 5, 6, 7);
            try (Tensor col = x.select(1, 0).unsqueeze(1); Tensor e = col.expand(3, 2)) {
                assertThat(e.stride()).containsExactly(4, 0);
                assertThat(e.toFloatArray()).containsExactly(0, 0, 4, 4, 8, 8);
            }
            assertThat(Tensor.ones(3).expand(2, -1).size()).isEqualTo(Size.of(2, 3));
        }
    }

    @Test
    void inPlaceOpsOnViewsWriteThrough() {
        try (Tensor x = Tensor.zeros(2, 3)) {
            x.get(0).add_(1).mul_(3);
            x.t().get(2).sub_(Tensor.of(new float[] {1, 2}));
            x.clamp_(-1, 2.5);
            assertThat(x.toFloatArray()).containsExactly(2.5f, 2.5f, 2f, 0, 0, -1);
            x.copy_(Tensor.of(new float[] {1, 2, 3}));
            assertThat(x.toFloatArray()).containsExactly(1, 2, 3, 1, 2, 3);
            x.zero_();
            assertThat(x.sum().item()).isZero();
        }
    }

    @Test
    void dtypeConversions() {
        try (Tensor f = Tensor.of(new float[] {1.9f, -1.9f, 3f}); Tensor l = f.toLong(); Tensor back = l.toFloat()) {
            assertThat(l.toLongArray()).containsExactly(1, -1, 3);
            assertThat(back.toFloatArray()).containsExactly(1, -1, 3);
            assertThat(f.toFloat()).isSameAs(f);
            assertThat(Tensor.of(new int[] {1, 2}).dtype()).isEqualTo(DType.INT64);
            assertThat(Tensor.scalarLong(3).longItem()).isEqualTo(3L);
            assertThat(Tensor.scalar(2.5).item()).isEqualTo(2.5f);
        }
    }

    @Test
    void emptyTensorsWork() {
        try (Tensor e = Tensor.zeros(0, 3)) {
            assertThat(e.numel()).isZero();
            assertThat(e.sum().item()).isZero();
            assertThat(e.sum(0).toFloatArray()).containsExactly(0, 0, 0);
            assertThat(e.add(1).size()).isEqualTo(Size.of(0, 3));
            assertThat(e.mean().item()).isNaN();
            assertThat(e.t().mm(e).toFloatArray()).containsOnly(0f).hasSize(9);
        }
    }

    @Test
    void nanAndInfPropagateLikePyTorch() {
        try (Tensor x = Tensor.of(new float[] {Float.NaN, Float.POSITIVE_INFINITY, -1})) {
            assertThat(x.relu().toFloatArray()).containsExactly(Float.NaN, Float.POSITIVE_INFINITY, 0);
            assertThat(x.clamp(-0.5, 0.5).toFloatArray()).containsExactly(Float.NaN, 0.5f, -0.5f);
            assertThat(x.sum().item()).isNaN();
            assertThat(x.max().item()).isNaN();
            assertThat(x.argmax().longItem()).isZero();
            assertThat(x.exp().toFloatArray()[1]).isInfinite();
        }
    }

    @Test
    void outVariantsWriteIntoPreallocatedTensors() {
        try (Tensor a = Tensor.of(new float[] {1, -2, 3}); Tensor b = Tensor.of(new float[] {10}); Tensor out = Tensor.empty(3)) {
            assertThat(a.add(b, out)).isSameAs(out);
            assertThat(out.toFloatArray()).containsExactly(11, 8, 13);
            a.relu(out);
            assertThat(out.toFloatArray()).containsExactly(1, 0, 3);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> a.add(b, Tensor.empty(4)))
                    .hasMessageContaining("add: out has shape [4] but the result has shape [3]");
        }
    }
}
