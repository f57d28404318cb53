package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/** x moved lambd toward 0, 0 where {@code |x| <= lambd}, like {@code torch.nn.Softshrink} (lambd 0.5 by default, >= 0). */
public class Softshrink extends Module {
    private final double lambd;

    public Softshrink() {
        this(0.5);
    }

    public Softshrink(double lambd) {
        if (!(lambd >= 0)) {
            throw new IllegalArgumentException("Softshrink: lambda must be greater or equal to 0, but found to be " + lambd);
        }
        this.lambd = lambd;
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.softshrink(input, lambd);
    }

    /** torch prints the bare number: {@code Softshrink(0.5)}. */
    @Override
    public String extraRepr() {
        return Repr.pyFloat(lambd);
    }
}
