package dev.lanes.examples;

import dev.lanes.Tensor;
import dev.lanes.nn.Module;
import dev.lanes.nn.utils.ClipGrad;
import dev.lanes.optim.Optimizer;
import dev.lanes.train.TrainStep;
import java.io.PrintStream;
import java.util.Locale;
import java.util.function.BiFunction;

/**
 * The training step of the examples: compiled ({@link TrainStep}) by default, eager with {@code --eager} or when the
 * model has something the compiled step cannot replay (it says what, once, and trains eagerly: capture changes no
 * state, so nothing is lost). Both do zero_grad, forward, loss, backward, [clip], optimizer step.
 */
final class Stepper implements AutoCloseable {
    private final Module net;
    private final BiFunction<Tensor, Tensor, Tensor> criterion;
    private final Optimizer optimizer;
    private final double clip;
    private final PrintStream out;
    private TrainStep compiled;
    private Tensor lastOutput;

    /** {@code clip}: the gradients' max global norm, or NaN for none. */
    Stepper(boolean compile, Module net, BiFunction<Tensor, Tensor, Tensor> criterion, Optimizer optimizer, double clip, PrintStream out) {
        this.net = net;
        this.criterion = criterion;
        this.optimizer = optimizer;
        this.clip = clip;
        this.out = out;
        if (compile) {
            compiled = TrainStep.compile(net::forward, criterion, optimizer);
            if (!Double.isNaN(clip)) {
                compiled.clipGradNorm(clip);
            }
        }
        out.println("training step: " + (compile ? "compiled (TrainStep; --eager to turn off)" : "eager"));
    }

    /** One step on a batch; the loss. The model's output is then {@link #output()} (inside the caller's scope). */
    float run(Tensor x, Tensor y) {
        if (compiled != null) {
            try {
                float l = compiled.run(x, y);
                lastOutput = compiled.output();
                return l;
            } catch (UnsupportedOperationException e) {
                out.printf(Locale.ROOT, "training step: this model cannot be compiled (%s); training eagerly%n", e.getMessage());
                compiled.close();
                compiled = null;
            }
        }
        optimizer.zeroGrad();
        Tensor logits = net.forward(x);
        Tensor loss = criterion.apply(logits, y);
        loss.backward();
        if (!Double.isNaN(clip)) {
            ClipGrad.clipGradNorm_(net.parameters(), clip);
        }
        optimizer.step();
        lastOutput = logits;
        return loss.item();
    }

    /** The model's output of the last step (compiled: valid until the next step). */
    Tensor output() {
        return lastOutput;
    }

    boolean isCompiled() {
        return compiled != null;
    }

    @Override
    public void close() {
        if (compiled != null) {
            compiled.close();
        }
    }
}
