package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/**
 * Pads the last two dims with a constant, like {@code torch.nn.ConstantPad2d(padding, value)}: padding one int (all
 * four sides) or {@code (left, right, top, bottom)}; a negative amount crops.
 */
public class ConstantPad2d extends Module {
    protected final int[] padding;
    protected final double value;

    public ConstantPad2d(int padding, double value) {
        this(new int[] {padding, padding, padding, padding}, value);
    }

    public ConstantPad2d(int[] padding, double value) {
        this.padding = quadruple(padding);
        this.value = value;
    }

    static int[] quadruple(int[] p) {
        if (p == null || (p.length != 1 && p.length != 4)) {
            throw new IllegalArgumentException("padding must be one int or four (left, right, top, bottom), got "
                    + (p == null ? "null" : java.util.Arrays.toString(p)));
        }
        return p.length == 1 ? new int[] {p[0], p[0], p[0], p[0]} : p.clone();
    }

    static String tuple4(int[] p) {
        return "(" + p[0] + ", " + p[1] + ", " + p[2] + ", " + p[3] + ")";
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.pad(input, padding, "constant", value);
    }

    @Override
    public String extraRepr() {
        return "padding=" + tuple4(padding) + ", value=" + Repr.pyFloat(value);
    }
}
