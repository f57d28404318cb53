package dev.lanes.autograd;

import dev.lanes.Tensor;

/**
 * The sink of the graph for a leaf that requires grad: adds the incoming gradient to {@code leaf.grad()}
 * (in place once it exists, so a parameter's gradient buffer is allocated once and reused until zeroed).
 */
public final class AccumulateGrad extends Node {
    private final Tensor leaf;

    public AccumulateGrad(Tensor leaf) {
        this.leaf = leaf;
    }

    /** The leaf this node accumulates into, like {@code grad_fn.variable}. */
    public Tensor variable() {
        return leaf;
    }

    @Override
    protected Tensor[] apply(Tensor gradOutput) {
        if (!leaf.requiresGrad()) { // requiresGrad(false) since the graph was built: PyTorch's AccumulateGrad skips it
            return new Tensor[0];
        }
        synchronized (this) { // a leaf shared by graphs on several threads
            Tensor g = leaf.grad();
            if (g == null) {
                // contiguous and owned by the leaf: the gradient itself when nothing else can see its bytes (the
                // engine closes its own object afterwards; the leaf keeps a second one on the same storage), else a
                // copy. A weight-sized copy per parameter per step was ~9% of an MLP training step.
                boolean keep = gradOutput.isSoleOwnerOfStorage() && gradOutput.dtype() == leaf.dtype() && !Autograd.isGradEnabled();
                leaf.setGrad(keep ? gradOutput.detach() : gradOutput.clone());
            } else {
                g.add_(gradOutput);
            }
        }
        return new Tensor[0];
    }
}
