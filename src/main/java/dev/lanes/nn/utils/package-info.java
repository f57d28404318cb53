/**
 * Training utilities in the shape of {@code torch.nn.utils}: {@link dev.lanes.nn.utils.ClipGrad#clipGradNorm_}
 * ({@code torch.nn.utils.clip_grad_norm_}).
 */
package dev.lanes.nn.utils;
