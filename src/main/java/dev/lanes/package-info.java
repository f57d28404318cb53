/**
 * Tensors with reverse-mode autograd, shaped like PyTorch's {@code torch.Tensor}. The package reads in three parts.
 *
 * <ol>
 *   <li><b>The facade</b>: {@link dev.lanes.Tensor} (factories, views, the autograd state of a tensor, and one-line
 *       delegations for every op), {@link dev.lanes.Size}, {@link dev.lanes.DType}, {@link dev.lanes.Lanes}.</li>
 *   <li><b>The op families</b>, one file each, forward and backward rule side by side: {@code Pointwise} (a table:
 *       one row per elementwise op of one tensor, like PyTorch's derivatives.yaml), {@code ArithmeticOps} (rows for
 *       the ops of two tensors and of a tensor and a scalar), {@code InPlaceOps}, {@code ReductionOps},
 *       {@code LinalgOps}, {@code ShapeOps} (copies, cat/stack, split/chunk, view backwards), {@code SelectOps}
 *       (where, masked_fill, tril/triu), {@code IndexOps} (embedding, gather, ...), {@code NormOps} (layer_norm),
 *       {@code ConvOps}, {@code PoolOps}, {@code SoftmaxOps},
 *       {@link dev.lanes.Losses}. Their kernels are in {@link dev.lanes.kernels}.</li>
 *   <li><b>The launch path and the plan</b>: every kernel call of a forward goes through {@code Launch}, which runs
 *       the op's {@code PlanStep} at once (eager) and hands the same step to the {@code Tracer} when
 *       {@link dev.lanes.InferencePlan#trace} is recording; {@code OpFrame} pins the storages a kernel reads and
 *       writes, so no tensor ever sees another's memory whatever other threads close.</li>
 * </ol>
 *
 * <p>Finding an op, e.g. {@code gelu}: {@code Tensor.gelu} delegates to the {@code Pointwise.GELU} row, whose kernel
 * is {@code kernels.UnaryOp.GELU} (its vector loops, forward and fused backward, in the constant's body; the formula
 * in {@code kernels.VectorMath}) and whose backward rule is in the row; its tests are its row in the tests' op table
 * ({@code OpTableTest}). Adding such an op touches those four files: VectorMath (if its formula is transcendental),
 * UnaryOp, Pointwise, Tensor (plus {@code F} and an {@code nn} module class if it wants those spellings).
 */
package dev.lanes;
