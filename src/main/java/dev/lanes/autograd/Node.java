package dev.lanes.autograd;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/**
 * A backward function in the graph (PyTorch's {@code grad_fn}): given the gradient of its op's output it
 * returns the gradients of the op's inputs. Each op has one differentiable output.
 *
 * <p>Tensors a node needs for its backward are {@linkplain #save saved}: the node holds its own reference
 * on their storage and the version they had, and gives the reference back as soon as backward has used them
 * (unless the graph is retained). Using them after that, or after an in-place change, throws PyTorch's errors.
 */
public abstract class Node {
    private static final AtomicLong SEQUENCE = new AtomicLong();

    /**
     * Where a gradient flows: the next node and which of its outputs (always 0 here), and the shape of the tensor it
     * stands for (the gradient sent along it must have it; null where no gradient flows).
     */
    public record Edge(Node node, int inputNr, int[] shape) {
        /** An edge that carries no gradient (PyTorch's {@code (None, 0)}). */
        public Edge(Node node, int inputNr) {
            this(node, inputNr, null);
        }

        @Override
        public String toString() {
            return "(" + (node == null ? "None" : "<" + node.name() + ">") + ", " + inputNr + ")";
        }
    }

    /** A tensor saved for backward, with the version it had when saved. */
    protected final class Saved {
        private Tensor value;
        private final int version;
        private final String role;

        private Saved(Tensor t, String role) {
            this.role = role;
            this.version = t.version();
            try (MemoryScope u = MemoryScope.unscoped()) {
                this.value = t.detach(); // own storage reference, not registered with any scope
            }
        }

        /** The saved tensor; throws if it was freed by an earlier backward or modified in place since. */
        public Tensor get() {
            if (value == null) {
                throw new IllegalStateException("Trying to backward through the graph a second time (or directly access saved tensors"
                        + " after they have already been freed). Saved intermediate values of the graph are freed when you call"
                        + " .backward() or autograd.grad(). Specify retainGraph=true if you need to backward through the graph a"
                        + " second time or if you need to access saved tensors after calling backward. (" + name() + ")");
            }
            if (value.version() != version) {
                throw new IllegalStateException("one of the variables needed for gradient computation has been modified by an"
                        + " inplace operation: [torch.FloatTensor " + value.size().toString().replace("Size(", "").replace(")", "")
                        + "], which is " + role + " of " + name() + ", is at version " + value.version() + "; expected version "
                        + version + " instead.");
            }
            return value;
        }

        void release() {
            if (value != null) {
                value.close();
                value = null;
            }
        }
    }

    private final long sequenceNr = SEQUENCE.getAndIncrement();
    private Edge[] next = new Edge[0];
    private final List<Saved> saved = new ArrayList<>(2);
    private List<UnaryOperator<Tensor>> preHooks = List.of();
    private List<Tensor> retainGradOf = List.of();

    /** PyTorch's name of this backward function, e.g. {@code MulBackward0}. */
    public String name() {
        return getClass().getSimpleName();
    }

    /**
     * Computes the gradients of the inputs from {@code gradOutput}; entry i may be null when input i needs no
     * gradient ({@link #needsInputGrad(int)}). Runs with grad mode off; must not modify {@code gradOutput}.
     */
    protected abstract Tensor[] apply(Tensor gradOutput);

    /** The nodes gradients flow to, one per input, like {@code grad_fn.next_functions}. */
    public List<Edge> nextFunctions() {
        return Collections.unmodifiableList(Arrays.asList(next));
    }

    /** Sets the input edges (done by the op that records this node). */
    public final void setNext(Edge... edges) {
        this.next = edges;
    }

    protected final boolean needsInputGrad(int i) {
        return i < next.length && next[i].node() != null;
    }

    /** Saves a tensor for backward; {@code role} names it in errors ("argument 0", "output 0"). */
    protected final Saved save(Tensor t, String role) {
        Saved s = new Saved(t, role);
        saved.add(s);
        return s;
    }

    /** Releases every saved tensor (after a backward that does not retain the graph). */
    final void releaseSaved() {
        for (Saved s : saved) {
            s.release();
        }
    }

    long sequenceNr() {
        return sequenceNr;
    }

    Edge[] edges() {
        return next;
    }

    /** A hook on the gradient of this node's output; it may return a replacement or null to keep it. */
    public final synchronized void addPreHook(UnaryOperator<Tensor> hook) {
        List<UnaryOperator<Tensor>> l = new ArrayList<>(preHooks);
        l.add(hook);
        preHooks = l;
    }

    /** Makes backward store the gradient of {@code output} (a non-leaf this node produced) in its grad. */
    public final synchronized void retainGradFor(Tensor output) {
        List<Tensor> l = new ArrayList<>(retainGradOf);
        if (!l.contains(output)) {
            l.add(output);
        }
        retainGradOf = l;
    }

    /**
     * An in-place op made {@code output} the result of {@code next}: its retained gradient follows it there (as
     * PyTorch's retain_grad after y.mul_(3): the gradient of y's new version, not the old one's).
     */
    public final void moveRetainGrad(Tensor output, Node next) {
        synchronized (this) {
            if (!retainGradOf.contains(output)) {
                return;
            }
            List<Tensor> l = new ArrayList<>(retainGradOf);
            l.remove(output);
            retainGradOf = l;
        }
        next.retainGradFor(output);
    }

    List<UnaryOperator<Tensor>> preHooks() {
        return preHooks;
    }

    List<Tensor> retainGradOf() {
        return retainGradOf;
    }

    @Override
    public String toString() {
        return "<" + name() + ">";
    }
}
