/**
 * Reverse-mode automatic differentiation with PyTorch's semantics: a dynamic graph of {@link dev.lanes.autograd.Node}s
 * recorded while ops run, executed by the {@link dev.lanes.autograd.Engine} in reverse topological order
 * without recursion, grad mode switches ({@link dev.lanes.autograd.Autograd#noGrad()}), and
 * {@link dev.lanes.autograd.Gradcheck} for testing backward rules by finite differences.
 *
 * <p>The backward rule of each op lives next to its forward, in the op's node class in {@code dev.lanes}.
 */
package dev.lanes.autograd;
