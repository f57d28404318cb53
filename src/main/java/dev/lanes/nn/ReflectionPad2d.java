package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/**
 * Pads the last two dims by reflection (the edge not repeated), like {@code torch.nn.ReflectionPad2d(padding)}: one
 * int or {@code (left, right, top, bottom)}, each below the padded dim's size.
 */
public class ReflectionPad2d extends Module {
    private final int[] padding;

    public ReflectionPad2d(int... padding) {
        this.padding = ConstantPad2d.quadruple(padding);
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.pad(input, padding, "reflect", 0);
    }

    @Override
    public String extraRepr() {
        return ConstantPad2d.tuple4(padding);
    }
}
