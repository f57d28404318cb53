/**
 * Reverse-mode automatic differentiation with PyTorch's semantics: a dynamic graph of {@link dev.lanes.autograd.Node}s
 * recorded while ops run, executed by the {@link dev.lanes.autograd.Engine} in reverse topological order
 * without recursion, grad mode switches ({@link dev.lanes.autograd.Autograd#noGrad()}), and
 * {@link dev.lanes.autograd.Gradcheck} for testing backward rules by finite differences.
 *
 * <p>Nodes are defined in {@code dev.lanes}, by op family: the elementwise ops of one tensor are rows of
 * {@code Pointwise} (forward kernel, saved value and backward rule in one line each); the others are node classes in
 * the family's file ({@code ArithmeticOps} for binary and scalar arithmetic, {@code ReductionOps}, {@code LinalgOps},
 * {@code ConvOps}, {@code PoolOps}, {@code SoftmaxOps}, {@code Losses}, {@code ShapeOps} for views).
 */
package dev.lanes.autograd;
