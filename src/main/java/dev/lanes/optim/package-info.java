/**
 * Optimizers and learning-rate schedules in the shape of {@code torch.optim}: {@link dev.lanes.optim.SGD},
 * {@link dev.lanes.optim.Adam}, {@link dev.lanes.optim.AdamW}, {@link dev.lanes.optim.RMSprop}, {@link dev.lanes.optim.Adagrad},
 * {@link dev.lanes.optim.Adamax}, {@link dev.lanes.optim.NAdam}, {@link dev.lanes.optim.RAdam} over parameter groups,
 * each parameter updated in one fused pass ({@code dev.lanes.OptimizerUpdates}); the schedules of
 * {@code torch.optim.lr_scheduler} (StepLR, MultiStepLR, ExponentialLR, LambdaLR, MultiplicativeLR, LinearLR,
 * ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR, SequentialLR, ReduceLROnPlateau).
 */
package dev.lanes.optim;
