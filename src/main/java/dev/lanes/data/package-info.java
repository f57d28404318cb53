/**
 * Data loading: the IDX format ({@link dev.lanes.data.Idx}), MNIST-style datasets, CIFAR-10's binary version
 * ({@link dev.lanes.data.CIFAR10}), character-level text ({@link dev.lanes.data.CharDataset}), image transforms with
 * seeded random crops and flips ({@link dev.lanes.data.ImageTransform}), checked downloads, a tar reader for hostile
 * archives ({@link dev.lanes.data.Tar}) and a {@link dev.lanes.data.DataLoader} that batches, shuffles (seeded) and
 * prefetches on a background thread into reused tensors.
 */
package dev.lanes.data;
