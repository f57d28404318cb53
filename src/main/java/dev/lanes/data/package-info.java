/**
 * Data loading: the IDX format ({@link dev.lanes.data.Idx}), MNIST-style datasets, image transforms and a
 * {@link dev.lanes.data.DataLoader} that batches, shuffles (seeded) and prefetches on a background thread into
 * reused tensors.
 */
package dev.lanes.data;
