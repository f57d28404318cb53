package dev.lanes.memory;

/**
 * The off-heap budget refused an allocation ({@link MemoryPool}): thrown before any memory is taken, so nothing is
 * left half made. An {@link OutOfMemoryError}, as before; its own type lets a reader of hostile input (an ONNX graph
 * whose broadcast asks for gigabytes) report it as that input's fault.
 */
public final class OffHeapBudgetError extends OutOfMemoryError {
    private static final long serialVersionUID = 1L;

    OffHeapBudgetError(String message) {
        super(message);
    }
}
