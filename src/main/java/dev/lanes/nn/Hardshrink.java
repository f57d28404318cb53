package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** 0 where {@code |x| <= lambd}, x elsewhere, like {@code torch.nn.Hardshrink} (lambd 0.5 by default). */
public class Hardshrink extends Module {
    private final double lambd;

    public Hardshrink() {
        this(0.5);
    }

    public Hardshrink(double lambd) {
        this.lambd = lambd;
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.hardshrink(input, lambd);
    }

    /** torch prints the bare number: {@code Hardshrink(0.5)}. */
    @Override
    public String extraRepr() {
        return Repr.pyFloat(lambd);
    }
}
