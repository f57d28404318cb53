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
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});

    private Autograd() {
    }

    /** Restores the previous grad mode when closed. */
    public static final class Mode implements AutoCloseable {
        private final boolean previous;
        private boolean closed;

        private Mode(boolean enabled) {
            boolean[] flag = ENABLED.get();
            previous = flag[0];
            flag[0] = enabled;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                ENABLED.get()[0] = previous;
            }
        }
    }

    /** Ops inside record no graph, like {@code with torch.no_grad():}. */
    public static Mode noGrad() {
        return new Mode(false);
    }

    /** Ops inside record a graph even within {@link #noGrad()}, like {@code with torch.enable_grad():}. */
    public static Mode enableGrad() {
        return new Mode(true);
    }

    /** Whether ops on this thread record a graph now, like {@code torch.is_grad_enabled()}. */
    public static boolean isGradEnabled() {
        return ENABLED.get()[0];
    }
}
