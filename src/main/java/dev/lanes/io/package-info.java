/**
 * Weight files: {@link dev.lanes.io.SafeTensors} reads and writes the safetensors format, so weights move both ways
 * between Lanes and PyTorch (or any other safetensors user).
 */
package dev.lanes.io;
