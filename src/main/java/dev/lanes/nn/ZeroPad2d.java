package dev.lanes.nn;

/** Pads the last two dims with zeros, like {@code torch.nn.ZeroPad2d(padding)}: one int or {@code (left, right, top, bottom)}. */
public class ZeroPad2d extends ConstantPad2d {
    public ZeroPad2d(int padding) {
        super(padding, 0.0);
    }

    public ZeroPad2d(int... padding) {
        super(padding, 0.0);
    }

    @Override
    public String extraRepr() {
        return tuple4(padding);
    }
}
