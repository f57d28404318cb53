package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** Pads the last two dims by repeating the edge, like {@code torch.nn.ReplicationPad2d(padding)}: one int or {@code (left, right, top, bottom)}. */
public class ReplicationPad2d extends Module {
    private final int[] padding;

    public ReplicationPad2d(int... padding) {
        this.padding = ConstantPad2d.quadruple(padding);
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.pad(input, padding, "replicate", 0);
    }

    @Override
    public String extraRepr() {
        return ConstantPad2d.tuple4(padding);
    }
}
