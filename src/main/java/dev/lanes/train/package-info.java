/**
 * Compiled training steps: {@link dev.lanes.train.TrainStep} captures a model's forward, loss and backward into a
 * {@link dev.lanes.TrainingPlan} and steps an optimizer on the gradients it leaves, the training twin of
 * {@link dev.lanes.InferencePlan}. Sits above {@code nn} and {@code optim}.
 */
package dev.lanes.train;
