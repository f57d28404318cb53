/**
 * Neural-network building blocks in the shape of {@code torch.nn}: {@link dev.lanes.nn.Module} (parameters,
 * buffers and submodules registered by name, train/eval, state dicts, PyTorch's repr), the containers
 * {@link dev.lanes.nn.Sequential}, {@link dev.lanes.nn.ModuleList} and {@link dev.lanes.nn.ModuleDict}, layers, losses and
 * {@link dev.lanes.nn.Init} initialisers. {@code dev.lanes.nn.functional.F} holds the stateless functions,
 * {@code dev.lanes.nn.utils} the training utilities ({@code ClipGrad.clipGradNorm_}).
 */
package dev.lanes.nn;
