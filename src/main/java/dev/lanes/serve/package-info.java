/**
 * Serving: {@link dev.lanes.serve.PreparedModel} loads a model's weights, compiles its forward pass into an
 * {@link dev.lanes.InferencePlan}, warms it up, and answers from many threads at once into caller-supplied
 * buffers; {@link dev.lanes.serve.JsonFloats} reads request bodies. Sits on {@code nn} and {@code io}; the example
 * HTTP service is {@code examples/.../LeNetService.java}.
 */
package dev.lanes.serve;
