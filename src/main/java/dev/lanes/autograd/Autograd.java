package dev.lanes.autograd;

/**
 * Grad-mode switches, thread-local and nestable like {@code torch.no_grad()} / {@code torch.enable_grad()}:
 * <pre>{@code
 * try (var g = Autograd.noGrad()) {
 *     for (Tensor p : net.parameters()) p.sub_(p.grad().mul(lr));
 * }
 * }</pre>
 */
public final class Autograd {
    /** {grad enabled, inference mode} of this thread. */
    private static final ThreadLocal<boolean[]> ENABLED = new ThreadLocal<>() {
        @Override
        protected boolean[] initialValue() {
            return new boolean[] {true, false};
        }
    };

    private Autograd() {
    }

    /** Restores the previous grad mode when closed. */
    public static final class Mode implements AutoCloseable {
        private final boolean previous;
        private final boolean previousInference;
        private boolean closed;

        private Mode(boolean enabled, boolean inference) {
            boolean[] flag = ENABLED.get();
            previous = flag[0];
            previousInference = flag[1];
            flag[0] = enabled;
            flag[1] = inference;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                boolean[] flag = ENABLED.get();
                flag[0] = previous;
                flag[1] = previousInference;
            }
        }
    }

    /**
     * Like {@code torch.inference_mode()}: no graph and no saved tensors (as {@link #noGrad()}), and modules may
     * free what they no longer need at once: {@code Sequential} releases each layer's output as soon as the next
     * layer has consumed it, so only the final result survives. Do not keep references to intermediate results
     * of a {@code Sequential} (a layer caching its input, a hook) inside this mode. For a whole forward pass
     * compiled with buffers reused by liveness and no allocation at all, trace it into an
     * {@code InferencePlan} (what {@code serve.PreparedModel} does).
     */
    public static Mode inferenceMode() {
        return new Mode(false, true);
    }

    /** Whether this thread is inside {@link #inferenceMode()}. */
    public static boolean isInferenceMode() {
        return ENABLED.get()[1];
    }

    /** Ops inside record no graph, like {@code with torch.no_grad():}. */
    public static Mode noGrad() {
        return new Mode(false, ENABLED.get()[1]);
    }

    /**
     * Ops inside record a graph even within {@link #noGrad()}, like {@code with torch.enable_grad():}; not within
     * {@link #inferenceMode()}, which is not grad mode: PyTorch records nothing there either (it recorded a graph).
     */
    public static Mode enableGrad() {
        boolean inference = ENABLED.get()[1];
        return new Mode(!inference, inference);
    }

    /** Whether ops on this thread record a graph now, like {@code torch.is_grad_enabled()}. */
    public static boolean isGradEnabled() {
        return ENABLED.get()[0];
    }
}
