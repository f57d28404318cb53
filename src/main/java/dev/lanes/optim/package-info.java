/**
 * Optimizers and learning-rate schedules in the shape of {@code torch.optim}: {@link dev.lanes.optim.SGD},
 * {@link dev.lanes.optim.Adam}, {@link dev.lanes.optim.AdamW}, {@link dev.lanes.optim.RMSprop} over parameter groups,
 * each parameter updated in one fused pass ({@code dev.lanes.OptimizerUpdates}).
 */
package dev.lanes.optim;
