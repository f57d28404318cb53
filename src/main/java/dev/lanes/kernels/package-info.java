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
 *
 * <p>Per-thread holders are {@code ThreadLocal} subclasses ({@code new ThreadLocal<>() { initialValue() ... }}), not
 * {@code ThreadLocal.withInitial(X::new)}: a lambda or method reference spins a hidden class at its first use, ~0.7 ms
 * each in a young JVM, interpreted, and its class-file generation keeps the JIT's C1 thread from the kernels; a plan
 * compiled at a service's start met ~40 of them (ResNet-20's cold start 568 -> 511 ms with these and the pool's
 * zeroing, AMD EPYC Zen 3, stop 47). The code a cold start runs (the trace, compiling a plan, its first runs) avoids
 * lambdas where a loop or a class says the same.
 */
package dev.lanes.kernels;
