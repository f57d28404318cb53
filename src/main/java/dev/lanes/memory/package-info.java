/**
 * Off-heap float storage: a size-classed pool of 64-byte-aligned {@link java.lang.foreign.MemorySegment}
 * blocks, reference-counted {@link dev.lanes.memory.Storage} handles, {@link dev.lanes.memory.MemoryScope}
 * for deterministic release, and a {@link java.lang.ref.Cleaner} plus a byte budget as the safety net
 * for handles that are dropped without release.
 *
 * <p>This package knows nothing about tensors; it hands out bytes and takes them back.
 */
package dev.lanes.memory;
