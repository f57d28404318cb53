/**
 * SIMD kernels: plain static functions over {@link java.lang.foreign.MemorySegment}s, element offsets
 * and int shapes/strides, written with {@code jdk.incubator.vector.FloatVector} lanes.
 *
 * <p>Kernels never allocate tensors and know nothing of autograd. Every elementwise op has its scalar definition
 * next to its vector form ({@link dev.lanes.kernels.UnaryOp}: each op's constant carries its own vector loop and, for
 * GELU, SiLU and Mish, its fused backward; {@link dev.lanes.kernels.BinaryOp#apply}; the
 * transcendentals' scalar twins in {@link dev.lanes.kernels.VectorMath}), and tests hold them to the same bits at every
 * width ({@code VectorMathTest}, {@code VectorWidthTest}). GEMM, convolution and pooling are checked against
 * double-precision references in the test tree ({@code KernelReference}, {@code KernelPropertyTest}). Loop shape follows {@code VECTOR-NOTES.md}: a long byte offset from 0 to a hoisted limit, every
 * access offset affine in it, so C2 drops the bounds checks.
 */
package dev.lanes.kernels;
