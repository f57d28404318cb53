/**
 * Neural-network building blocks in the shape of {@code torch.nn}: {@link dev.lanes.nn.Module} (parameters,
 * buffers and submodules registered by name, train/eval, state dicts, PyTorch's repr), layers, losses and
 * {@link dev.lanes.nn.Init} initialisers. {@code dev.lanes.nn.functional.F} holds the stateless functions.
 */
package dev.lanes.nn;
