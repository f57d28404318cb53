package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** {@code value} where {@code x <= threshold}, x elsewhere, like {@code torch.nn.Threshold(threshold, value)}; the repr prints the numbers as Python would (ints from the int constructor). */
public class Threshold extends Module {
    private final double threshold;
    private final double value;
    private final String repr;

    public Threshold(double threshold, double value) {
        this.threshold = threshold;
        this.value = value;
        this.repr = "threshold=" + Repr.pyFloat(threshold) + ", value=" + Repr.pyFloat(value);
    }

    public Threshold(int threshold, int value) {
        this.threshold = threshold;
        this.value = value;
        this.repr = "threshold=" + threshold + ", value=" + value;
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.threshold(input, threshold, value);
    }

    @Override
    public String extraRepr() {
        return repr;
    }
}
