package dev.lanes.memory;

/** Something a {@link MemoryScope} can release: a tensor, or any holder of storages. */
public interface Releasable {
    /** Releases this holder; {@code reason} says who did it, for later error messages. No-op if already released. */
    void release(String reason);

    boolean isReleased();
}
