/**
 * SIMD kernels: plain static functions over {@link java.lang.foreign.MemorySegment}s, element offsets
 * and int shapes/strides, written with {@code jdk.incubator.vector.FloatVector} lanes.
 *
 * <p>Kernels never allocate tensors and know nothing of autograd. Each has a scalar reference twin in
 * the test tree ({@code src/test/java/dev/lanes/kernels/*Reference.java}) that property tests compare it
 * with. Loop shape follows {@code VECTOR-NOTES.md}: a long byte offset from 0 to a hoisted limit, every
 * access offset affine in it, so C2 drops the bounds checks.
 */
package dev.lanes.kernels;
