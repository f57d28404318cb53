package dev.lanes.autograd;

import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Runs backward from one root: counts each node's dependents with an explicit stack (no recursion, so a
 * 100,000-node chain is fine), then applies nodes once all gradients for them have arrived, newest first
 * like PyTorch. Each call works only on its own graph; independent graphs on different threads never share state.
 *
 * <p>Memory: the whole pass runs {@linkplain MemoryScope#unscoped() outside any scope}; every gradient
 * tensor the engine holds is its own object and is closed as soon as the node that consumed it has run.
 */
public final class Engine {
    private Engine() {
    }

    public static void backward(Node root, Tensor rootGrad, boolean retainGraph) {
        try (MemoryScope u = MemoryScope.unscoped(); Autograd.Mode g = Autograd.noGrad()) {
            run(root, rootGrad, retainGraph);
        }
    }

    private static void run(Node root, Tensor rootGrad, boolean retainGraph) {
        Map<Node, Integer> dependencies = new IdentityHashMap<>();
        Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Node> stack = new ArrayDeque<>();
        stack.push(root);
        seen.add(root);
        while (!stack.isEmpty()) {
            Node n = stack.pop();
            for (Node.Edge e : n.edges()) {
                if (e.node() != null) {
                    dependencies.merge(e.node(), 1, Integer::sum);
                    if (seen.add(e.node())) {
                        stack.push(e.node());
                    }
                }
            }
        }

        Map<Node, Tensor> buffers = new IdentityHashMap<>();
        buffers.put(root, rootGrad.detach());
        PriorityQueue<Node> ready = new PriorityQueue<>((a, b) -> Long.compare(b.sequenceNr(), a.sequenceNr()));
        ready.add(root);
        try {
            while (!ready.isEmpty()) {
                Node node = ready.poll();
                Tensor grad = buffers.remove(node);
                Tensor[] inputGrads = null;
                if (grad != null) {
                    grad = runHooks(node, grad);
                    for (Tensor t : node.retainGradOf()) { // accumulated over backward calls, a new tensor each time (the user may hold the old)
                        Tensor old = t.grad();
                        t.setGrad(old == null ? grad.clone() : old.add(grad));
                    }
                    try {
                        inputGrads = node.apply(grad);
                    } finally {
                        if (!retainGraph) {
                            node.releaseSaved();
                        }
                    }
                }
                Node.Edge[] edges = node.edges();
                Set<Tensor> stored = Collections.newSetFromMap(new IdentityHashMap<>());
                if (grad != null) {
                    stored.add(grad);
                }
                for (int i = 0; i < edges.length; i++) {
                    Tensor g = inputGrads != null && i < inputGrads.length ? inputGrads[i] : null;
                    Node next = edges[i].node();
                    if (g != null && next != null && g.dtype() != dev.lanes.DType.FLOAT32) {
                        String got = g.dtype().torchName();
                        g.close();
                        throw new IllegalStateException("Function " + node.name() + " returned an invalid gradient at index " + i
                                + " - expected type torch.float32 but got " + got);
                    }
                    if (g != null && next != null && edges[i].shape() != null && !sameShape(g, edges[i].shape())) {
                        // PyTorch's engine check: a backward rule's gradient of another shape would reach the leaf as its .grad
                        String got = Arrays.toString(g.shape());
                        g.close();
                        throw new IllegalStateException("Function " + node.name() + " returned an invalid gradient at index " + i + " - got "
                                + got + " but expected shape compatible with " + Arrays.toString(edges[i].shape()));
                    }
                    if (g != null) {
                        if (next == null) {
                            if (!stored.contains(g)) {
                                g.close();
                            }
                        } else {
                            // one object per buffer: a gradient passed to two inputs (or passed through) gets its own view
                            if (!stored.add(g)) {
                                g = g.detach();
                                stored.add(g);
                            }
                            Tensor prev = buffers.get(next);
                            if (prev == null) {
                                buffers.put(next, g);
                            } else {
                                buffers.put(next, prev.add(g));
                                prev.close();
                                g.close();
                            }
                        }
                    }
                    if (next != null && dependencies.merge(next, -1, Integer::sum) == 0) {
                        ready.add(next);
                    }
                }
                if (grad != null) {
                    grad.close();
                }
            }
        } finally {
            for (Tensor t : buffers.values()) {
                t.close();
            }
        }
    }

    /**
     * Each hook gets its own tensor object on the gradient's memory, never closed by the engine (the hook may keep it;
     * one it drops is released when the GC finds it), and a gradient it returns is taken as a new object on that
     * tensor's memory (the hook's tensor stays the caller's). The engine closed both before.
     */

    /** Whether {@code g} has this shape, read dim by dim (no copy of the shape per edge and backward). */
    private static boolean sameShape(Tensor g, int[] shape) {
        if (g.dim() != shape.length) {
            return false;
        }
        for (int d = 0; d < shape.length; d++) {
            if (g.size(d) != shape[d]) {
                return false;
            }
        }
        return true;
    }
    private static Tensor runHooks(Node node, Tensor grad) {
        for (UnaryOperator<Tensor> hook : node.preHooks()) {
            Tensor given = grad.detach();
            Tensor r = hook.apply(given);
            if (r != null && r != given) {
                if (!r.size().equals(grad.size())) {
                    throw new IllegalArgumentException("hook has changed the size of value: returned " + r.size() + " but " + grad.size()
                            + " was expected");
                }
                if (r.dtype() != grad.dtype()) { // an int64 gradient reached the leaf's .grad (and the next backward's add_ threw)
                    throw new IllegalArgumentException("hook has changed the type of value (was " + grad.dtype().torchName() + " got "
                            + r.dtype().torchName() + ")");
                }
                grad.close();
                grad = r.detach();
            }
        }
        return grad;
    }
}
