package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.autograd.Autograd;
import dev.lanes.memory.MemoryScope;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Autograd engine semantics: names and graph walks, accumulation, retain_graph, no_grad, in-place rules, hooks,
 * memory. The gradcheck of every op (and its backward against PyTorch's) is a row of the op table, {@link OpTableTest}.
 */
class AutogradTest {
    /**
     * A backward rule that returns a gradient of another shape than its input's is refused with PyTorch's engine message
     * (a BCEWithLogits weight broadcast larger than its input once gave a [3] leaf a [2, 3] .grad that the optimizer then
     * read), before it reaches the leaf.
     */
    @Test
    void aGradientOfAnotherShapeThanItsInputIsRefused() {
        Tensor x = Tensor.randn(3).requiresGrad(true);
        Tensor out = Tensor.zeros(3);
        Tensor.record(out, () -> new dev.lanes.autograd.Node() {
            @Override
            public String name() {
                return "WrongShapeBackward";
            }

            @Override
            protected Tensor[] apply(Tensor g) {
                return new Tensor[] {Tensor.ones(2, 3)};
            }
        }, x);
        assertThatThrownBy(() -> out.sum().backward()).isInstanceOf(IllegalStateException.class)
                .hasMessage("Function WrongShapeBackward returned an invalid gradient at index 0 - got [2, 3] but expected shape compatible with [3]");
        assertThat(x.grad()).isNull();
    }

    @Test
    void namesAndGraphWalkLikePyTorch() {
        Tensor x = Tensor.ones(2, 2).requiresGrad(true);
        Tensor y = x.add(2);
        Tensor z = y.mul(y).mul(3);
        Tensor out = z.mean();
        assertThat(x.toString()).isEqualTo("tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)");
        assertThat(out.toString()).isEqualTo("tensor(27., grad_fn=<MeanBackward0>)");
        assertThat(y.gradFn().name()).isEqualTo("AddBackward0"); // Python wraps the scalar: (x + 2).grad_fn
        assertThat(z.gradFn().name()).isEqualTo("MulBackward0");
        assertThat(z.gradFn().nextFunctions().toString()).isEqualTo("[(<MulBackward0>, 0), (None, 0)]");
        assertThat(z.gradFn().nextFunctions().get(0).node().name()).isEqualTo("MulBackward0");
        assertThat(y.gradFn().nextFunctions().get(0).node().name()).isEqualTo("AccumulateGrad");
        assertThat(x.isLeaf()).isTrue();
        assertThat(y.isLeaf()).isFalse();
        assertThat(x.grad()).isNull();
        out.backward();
        assertThat(x.grad().toFloatArray()).containsExactly(4.5f, 4.5f, 4.5f, 4.5f); // PyTorch tutorial value
        assertThat(x.view(4).gradFn().name()).isEqualTo("ViewBackward0");
        assertThat(x.relu().gradFn().name()).isEqualTo("ReluBackward0");
        assertThat(x.mm(x).gradFn().name()).isEqualTo("MmBackward0");
        assertThat(x.exp().sum(0).gradFn().name()).isEqualTo("SumBackward1");
    }

    @Test
    void gradientsAccumulateUntilCleared() {
        Tensor w = Tensor.of(new float[] {1, 2, 3}).requiresGrad(true);
        w.mul(2).sum().backward();
        w.mul(2).sum().backward();
        assertThat(w.grad().toFloatArray()).containsExactly(4, 4, 4);
        w.setGrad(null);
        w.mul(w).sum().backward();
        assertThat(w.grad().toFloatArray()).containsExactly(2, 4, 6);
    }

    @Test
    void backwardWithGradientAndShapeCheck() {
        Tensor x = Tensor.of(new float[] {1, 2}).requiresGrad(true);
        Tensor y = x.mul(3);
        assertThatThrownBy(() -> y.backward(Tensor.ones(3))).hasMessageContaining("Mismatch in shape: grad_output[0] has a shape of Size([3]) and output[0] has a shape of Size([2])");
        assertThatThrownBy(y::backward).hasMessageContaining("grad can be implicitly created only for scalar outputs");
        y.backward(Tensor.of(new float[] {1, 10}));
        assertThat(x.grad().toFloatArray()).containsExactly(3, 30);
        assertThatThrownBy(() -> Tensor.ones(1).sum().backward()).hasMessageContaining("does not require grad and does not have a grad_fn");
    }

    @Test
    void secondBackwardNeedsRetainGraph() {
        Tensor x = Tensor.of(new float[] {2}).requiresGrad(true);
        Tensor y = x.mul(x).sum();
        y.backward(Tensor.ones(), true);
        y.backward(Tensor.ones(), false);
        assertThat(x.grad().item()).isEqualTo(8f);
        assertThatThrownBy(y::backward).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Trying to backward through the graph a second time");
    }

    @Test
    void noGradEnableGradDetachAndData() {
        Tensor w = Tensor.ones(3).requiresGrad(true);
        try (Autograd.Mode g = Autograd.noGrad()) {
            assertThat(w.mul(2).requiresGrad()).isFalse();
            try (Autograd.Mode e = Autograd.enableGrad()) {
                assertThat(w.mul(2).requiresGrad()).isTrue();
            }
            assertThat(Autograd.isGradEnabled()).isFalse();
            w.sub_(Tensor.ones(3)); // allowed: no graph is recorded
        }
        assertThat(Autograd.isGradEnabled()).isTrue();
        assertThat(w.detach().requiresGrad()).isFalse();
        assertThat(w.detach().sharesStorageWith(w)).isTrue();
        w.mul(5).sum().backward();
        w.data().sub_(w.grad().mul(0.1)); // the walkthrough's manual SGD step
        assertThat(w.toFloatArray()).containsExactly(-0.5f, -0.5f, -0.5f);
    }

    @Test
    void inPlaceErrorsFollowPyTorch() {
        Tensor leaf = Tensor.ones(3).requiresGrad(true);
        assertThatThrownBy(() -> leaf.add_(1)).hasMessageContaining("a leaf Variable that requires grad is being used in an in-place operation");
        Tensor a = Tensor.ones(3).requiresGrad(true);
        Tensor b = Tensor.of(new float[] {1, 2, 3});
        Tensor y = a.mul(b);
        b.add_(1); // b was saved by MulBackward0
        assertThatThrownBy(() -> y.sum().backward()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("one of the variables needed for gradient computation has been modified by an inplace operation")
                .hasMessageContaining("is at version 1; expected version 0 instead");
    }

    @Test
    void tiesAndNamesMatchPyTorch() {
        // values printed by PyTorch 1.13 for the same expressions (see the session note)
        Tensor x = Tensor.of(new float[] {1, 3, 3}).requiresGrad(true);
        Tensor m = x.max();
        assertThat(m.gradFn().name()).isEqualTo("MaxBackward1");
        m.backward();
        assertThat(x.grad().toFloatArray()).containsExactly(0f, 0.5f, 0.5f);

        Tensor y = Tensor.of(new float[] {1, 3, 3, 2, 2, 0}, 2, 3).requiresGrad(true);
        Tensor md = y.max(1).values();
        assertThat(md.gradFn().name()).isEqualTo("MaxBackward0");
        md.sum().backward();
        assertThat(y.grad().toFloatArray()).containsExactly(0, 1, 0, 1, 0, 0);
        y.setGrad(null);
        y.min(0, true).values().sum().backward();
        assertThat(y.grad().toFloatArray()).containsExactly(1, 0, 0, 0, 1, 1);

        Tensor a = Tensor.of(new float[] {1, 2, 3}).requiresGrad(true);
        Tensor b = Tensor.of(new float[] {1, 3, 2}).requiresGrad(true);
        Tensor mx = a.maximum(b);
        assertThat(mx.gradFn().name()).isEqualTo("MaximumBackward0");
        mx.sum().backward();
        assertThat(a.grad().toFloatArray()).containsExactly(0.5f, 0, 1);
        assertThat(b.grad().toFloatArray()).containsExactly(0.5f, 1, 0);
        a.setGrad(null);
        b.setGrad(null);
        a.minimum(b).sum().backward();
        assertThat(a.grad().toFloatArray()).containsExactly(0.5f, 1, 0);
        assertThat(b.grad().toFloatArray()).containsExactly(0.5f, 0, 1);

        Tensor c = Tensor.of(new float[] {2, 2}).requiresGrad(true);
        Tensor sd = c.std();
        assertThat(sd.gradFn().name()).isEqualTo("StdBackward0");
        sd.backward();
        assertThat(c.grad().toFloatArray()).containsExactly(0, 0); // PyTorch masks std == 0

        assertThat(c.var().gradFn().name()).isEqualTo("VarBackward0");
        assertThat(c.pow(c).gradFn().name()).isEqualTo("PowBackward1");
        assertThat(c.matmul(c).gradFn().name()).isEqualTo("DotBackward0");
        assertThat(c.view(1, 2).t().matmul(c.view(1, 2)).gradFn().name()).isEqualTo("MmBackward0");
        assertThat(Tensor.ones(3, 2).matmul(c).gradFn().name()).isEqualTo("MvBackward0");
        assertThat(Tensor.ones(2, 3, 2).matmul(c).gradFn().name()).isEqualTo("UnsafeViewBackward0");
        assertThat(Tensor.ones(2, 3, 2).matmul(c.view(2, 1)).gradFn().name()).isEqualTo("UnsafeViewBackward0");
        assertThat(c.view(1, 2).flatten().gradFn().name()).isEqualTo("ReshapeAliasBackward0");
        assertThat(c.rdiv(2).gradFn().name()).isEqualTo("MulBackward0");
        assertThat(c.rsub(1).gradFn().nextFunctions()).hasSize(1);
        assertThat(c.div(2).gradFn().nextFunctions().get(1).node()).isNull();
    }

    @Test
    void inPlaceOnANonLeafRewritesItsHistory() {
        Tensor x = Tensor.of(new float[] {1, 5}).requiresGrad(true);
        Tensor y = x.mul(2);
        y.add_(1);
        assertThat(y.gradFn().name()).isEqualTo("AddBackward0");
        assertThat(y.gradFn().nextFunctions().toString()).isEqualTo("[(<MulBackward0>, 0), (None, 0)]");
        y.sum().backward();
        assertThat(x.grad().toFloatArray()).containsExactly(2, 2);

        Tensor z = x.mul(2);
        z.relu_();
        assertThat(z.gradFn().name()).isEqualTo("ReluBackward0");
        z.fill_(3);
        assertThat(z.gradFn().name()).isEqualTo("FillBackward2");
        z.zero_();
        assertThat(z.gradFn().name()).isEqualTo("ZeroBackward0");
        Tensor buf = Tensor.zeros(2);
        buf.copy_(x);
        assertThat(buf.gradFn().name()).isEqualTo("CopyBackwards");
        assertThat(buf.gradFn().nextFunctions().get(0).node()).isNull();
        assertThat(buf.isLeaf()).isFalse();
    }

    @Test
    void inPlaceChangeOfASavedOutputFailsAtBackward() {
        Tensor x = Tensor.of(new float[] {1, 5}).requiresGrad(true);
        Tensor y = x.exp();
        y.add_(1); // ExpBackward0 saved y itself
        assertThatThrownBy(() -> y.sum().backward()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("which is output 0 of ExpBackward0, is at version 1; expected version 0 instead");
    }

    @Test
    void inPlaceOnGraphViewsAndOutVariantsAreRefused() {
        Tensor x = Tensor.ones(2, 2).requiresGrad(true);
        Tensor y = x.mul(2);
        Tensor row = y.get(0);
        assertThatThrownBy(() -> row.add_(1)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("in-place operations on a view are not supported");
        assertThatThrownBy(() -> x.view(4).mul_(2)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> x.add(x, Tensor.empty(2, 2))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("add(): functions with out=... arguments don't support automatic differentiation");
        assertThatThrownBy(() -> x.relu(Tensor.empty(2, 2))).hasMessageContaining("relu(): functions with out=...");
        try (Autograd.Mode g = Autograd.noGrad()) {
            assertThat(x.add(x, Tensor.empty(2, 2)).sum().item()).isEqualTo(8f);
            row.add_(1); // no graph: allowed
        }
    }

    @Test
    void retainGradAndHooks() {
        Tensor x = Tensor.of(new float[] {1, 2}).requiresGrad(true);
        Tensor h = x.mul(2).retainGrad();
        List<float[]> seen = new ArrayList<>();
        x.registerHook(g -> {
            seen.add(g.toFloatArray());
            return g.mul(10);
        });
        h.mul(h).sum().backward();
        assertThat(h.grad().toFloatArray()).containsExactly(4, 8);
        assertThat(seen.get(0)).containsExactly(8, 16);
        assertThat(x.grad().toFloatArray()).containsExactly(80, 160);
    }

    @Test
    void deepChainDoesNotOverflowTheStack() {
        Tensor x = Tensor.ones(16).requiresGrad(true);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y = x;
            for (int i = 0; i < 100_000; i++) {
                y = y.add(1);
            }
            y.sum().backward();
        }
        assertThat(x.grad().toFloatArray()).containsOnly(1f);
    }

    @Test
    void savedTensorsAreReleasedByBackward() {
        Tensor w = Tensor.randn(64, 64).requiresGrad(true);
        Tensor x = Tensor.randn(32, 64);
        for (int i = 0; i < 3; i++) { // warm
            try (MemoryScope s = MemoryScope.open()) {
                x.mm(w).relu().sum().backward();
            }
        }
        long inUse = dev.lanes.memory.MemoryPool.global().bytesInUse();
        Tensor loss;
        Tensor act;
        try (MemoryScope s = MemoryScope.open()) {
            act = x.mm(w).relu();
            loss = act.sum();
            loss.backward();
            // the relu output is still referenced by the user; MmBackward0/ReluBackward0 dropped their references
            assertThat(act.gradFn().name()).isEqualTo("ReluBackward0");
        }
        assertThat(dev.lanes.memory.MemoryPool.global().bytesInUse()).isLessThanOrEqualTo(inUse);
    }

    @Test
    void savedOutputIsFreedByBackwardUnlessTheGraphIsRetained() {
        // watched on the storage itself: the pool's global byte count also moves when the Cleaner frees other
        // tests' dropped tensors meanwhile (it did, in CI)
        int n = 256 * 1024; // 1 MiB of floats
        Tensor a = Tensor.randn(n).requiresGrad(true);
        Tensor b = a.exp(); // ExpBackward0 saves its output
        dev.lanes.memory.Storage saved = b.storageRef();
        Tensor loss = b.sum();
        b.close(); // the user's reference is gone; the saved one keeps the block
        assertThat(saved.isReleased()).isFalse();
        loss.backward(Tensor.ones(), true); // retained: still held
        assertThat(saved.isReleased()).as("kept by a retained graph").isFalse();
        a.grad().close();
        a.setGrad(null);
        loss.backward();
        a.grad().close();
        assertThat(saved.isReleased()).as("exp's saved output returned to the pool").isTrue();
    }

    @Test
    void independentGraphsOnSeveralThreads() throws Exception {
        Concurrently.run(4, id -> {
            float k = id + 1;
            for (int i = 0; i < 500; i++) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor x = Tensor.ones(8).requiresGrad(true);
                    x.mul(k).mul(x).sum().backward();
                    assertThat(x.grad().toFloatArray()).containsOnly(2 * k);
                    x.grad().close();
                }
            }
        });
    }

    /**
     * A Linear layer's weight gradient reaches the weight in the weight's own layout (PyTorch's mm_mat2_backward):
     * {@code x.mm(w.t())} and {@code addmm(b, x, w.t())} compute it as {@code (g^T x)} and hand {@code w.t()} its
     * transposed view, so the weight sees a contiguous gradient and AccumulateGrad needs no transposing copy. Values
     * are those of {@code x^T g} (checked against the plain formula).
     */
    @Test
    void linearWeightGradientsArriveInTheWeightsLayout() {
        Lanes.manualSeed(3);
        Tensor x = Tensor.randn(6, 5).requiresGrad(true);
        Tensor g = Tensor.randn(6, 4);
        for (boolean addmm : new boolean[] {false, true}) {
            Tensor w = Tensor.randn(4, 5).requiresGrad(true);
            Tensor xt = Tensor.randn(5, 6).requiresGrad(true); // an input stored transposed: x = xt.t()
            boolean[] contiguous = new boolean[2];
            w.registerHook(grad -> {
                contiguous[0] = grad.isContiguous();
                return grad;
            });
            xt.registerHook(grad -> {
                contiguous[1] = grad.isContiguous();
                return grad;
            });
            Tensor y = addmm ? Tensor.addmm(Tensor.zeros(4), xt.t(), w.t()) : xt.t().mm(w.t());
            y.backward(g);
            assertThat(contiguous).as("gradients of w and xt contiguous (addmm %s)", addmm).containsExactly(true, true);
            float[] wantW = g.t().mm(xt.t()).toFloatArray();
            float[] wantX = w.t().mm(g.t()).toFloatArray();
            assertThat(w.grad().toFloatArray()).containsExactly(wantW);
            assertThat(xt.grad().toFloatArray()).containsExactly(wantX);
        }
    }

    /**
     * A leaf's first gradient is the incoming gradient itself when nothing else can see it (PyTorch keeps it when its
     * use count is 1), and a copy when something can: the tensor passed to backward, or a gradient that also flows
     * elsewhere. Either way later accumulation never writes into memory another tensor sees.
     */
    @Test
    void aLeafKeepsAnUnsharedGradientAndCopiesASharedOne() {
        Lanes.manualSeed(5);
        Tensor x = Tensor.randn(6, 5);
        Tensor w = Tensor.randn(4, 5).requiresGrad(true);
        dev.lanes.memory.Storage[] seen = new dev.lanes.memory.Storage[1];
        w.registerHook(grad -> { // the hook's own object on the gradient's memory: it notes the memory and lets its object go
            seen[0] = grad.storageRef();
            grad.close();
            return null;
        });
        x.mm(w.t()).backward(Tensor.randn(6, 4));
        assertThat(w.grad().storageRef()).as("the product's fresh gradient is kept, not copied").isSameAs(seen[0]);

        Tensor v = Tensor.randn(3).requiresGrad(true);
        Tensor g = Tensor.ones(3);
        v.mul(1f).backward(g);          // MulBackward0 makes a new tensor: kept
        Tensor u = Tensor.randn(3).requiresGrad(true);
        u.add(0f).backward(g);          // AddBackward0 passes g through: g is the caller's, so u gets a copy
        assertThat(u.grad().sharesStorageWith(g)).isFalse();
        u.grad().add_(Tensor.ones(3));
        assertThat(g.toFloatArray()).containsExactly(1f, 1f, 1f);
        // accumulation into a kept gradient stays private too
        Tensor a = Tensor.randn(3).requiresGrad(true);
        Tensor b = a.mul(2f);
        b.backward(g);
        b = a.mul(2f);
        b.backward(g);
        assertThat(a.grad().toFloatArray()).containsExactly(4f, 4f, 4f);
        assertThat(g.toFloatArray()).containsExactly(1f, 1f, 1f);
    }

    // ---- from an audit against PyTorch's autograd (each fails before its fix) ----

    /** A view taken before an in-place op rewrote its base's history is refused (it gave x.grad 1 where PyTorch gives 3); taken again after, it is right. */
    @Test
    void aViewRecordedBeforeItsBaseWasRewrittenInPlaceIsRefused() {
        Tensor x = Tensor.ones(2).requiresGrad(true);
        Tensor y = x.mul(1.0);
        Tensor v = y.select(0, 0);
        y.mul_(3.0);
        assertThatThrownBy(v::backward).isInstanceOf(IllegalStateException.class).hasMessageContaining("taken before its base was modified");
        assertThatThrownBy(() -> v.mul(2.0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("out of date");
        Tensor again = y.select(0, 0);
        again.backward();
        assertThat(x.grad().toFloatArray()).containsExactly(3f, 0f);
    }

    /** retain_grad accumulates over backward calls into a new tensor; one the caller still holds stays readable. */
    @Test
    void retainedGradientsAccumulate() {
        Tensor x = Tensor.ones(3).requiresGrad(true);
        Tensor y = x.mul(2.0);
        y.retainGrad();
        y.sum().backward(Tensor.ones(new int[0]), true);
        Tensor first = y.grad();
        y.sum().backward();
        assertThat(y.grad().toFloatArray()).containsExactly(2f, 2f, 2f);
        assertThat(first.toFloatArray()).containsExactly(1f, 1f, 1f);
    }

    /** A hook may keep the gradient it is given, and a tensor it returns stays the caller's (the engine closed both). */
    @Test
    void hooksMayKeepTheirGradientAndTheTensorTheyReturn() {
        Tensor x = Tensor.ones(2).requiresGrad(true);
        List<Tensor> seen = new ArrayList<>();
        Tensor fixed = Tensor.of(new float[] {5f, 7f}, 2);
        x.registerHook(g -> {
            seen.add(g);
            return fixed;
        });
        x.mul(3.0).sum().backward();
        assertThat(seen.get(0).toFloatArray()).containsExactly(3f, 3f);
        assertThat(fixed.toFloatArray()).containsExactly(5f, 7f);
        assertThat(x.grad().toFloatArray()).containsExactly(5f, 7f);
    }

    /** zero_ / fill_ give the value they overwrite a zero gradient, not none (x.mul(2).zero_().sum().backward(): x.grad [0, 0]). */
    @Test
    void overwrittenValuesGetZeroGradients() {
        Tensor x = Tensor.ones(2).requiresGrad(true);
        x.mul(2.0).zero_().sum().backward();
        assertThat(x.grad()).isNotNull();
        assertThat(x.grad().toFloatArray()).containsExactly(0f, 0f);
    }

    /** An int64 target of copy_ never requires grad, whatever it copies; a leaf set to requiresGrad(false) after the graph was built gets no gradient. */
    @Test
    void integerTargetsAndLeavesNoLongerRequiringGradStayOutOfTheGraph() {
        Tensor w = Tensor.ones(3).requiresGrad(true);
        Tensor ints = Tensor.zerosLong(3);
        ints.copy_(w);
        assertThat(ints.requiresGrad()).isFalse();
        assertThat(ints.toLongArray()).containsExactly(1, 1, 1);
        Tensor x = Tensor.ones(2).requiresGrad(true);
        Tensor y = x.mul(2.0).sum();
        x.requiresGrad(false);
        y.backward();
        assertThat(x.grad()).isNull();
    }

    /** A view taken under noGrad of a tensor that requires grad may not be written in place with grad mode on (its base's values changed behind its history); detach() may. */
    @Test
    void aNoGradViewWrittenInPlaceWithGradOnIsRefused() {
        Tensor x = Tensor.ones(2).requiresGrad(true);
        Tensor y = x.mul(1.0);
        Tensor v;
        try (var g = Autograd.noGrad()) {
            v = y.select(0, 0);
        }
        assertThatThrownBy(() -> v.mul_(5.0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("created in no_grad mode");
        try (var g = Autograd.noGrad()) {
            v.mul_(5.0); // both inside: allowed, untracked
        }
        Tensor d = y.detach();
        d.add_(1.0); // detach() is for writes outside the graph
        assertThat(y.toFloatArray()).containsExactly(6f, 2f);
    }
}
