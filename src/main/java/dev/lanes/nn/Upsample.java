package dev.lanes.nn;

import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;

/**
 * Upsampling, like {@code torch.nn.Upsample(size, scale_factor, mode, align_corners)}: {@link F#interpolate} with
 * mode {@code "nearest"} (the default), {@code "bilinear"} (4-d input) or {@code "linear"} (3-d input). Exactly one of
 * size and scale factor; each is one value for every spatial dim or one per dim.
 */
public class Upsample extends Module {
    private final int[] size;
    private final double[] scaleFactor;
    private final String mode;
    private final Boolean alignCorners;

    /** {@code Upsample(scale_factor=s)}: nearest. */
    public Upsample(double scaleFactor) {
        this(null, new double[] {scaleFactor}, "nearest", null);
    }

    /** {@code Upsample(scale_factor=s, mode=mode)}. */
    public Upsample(double scaleFactor, String mode) {
        this(null, new double[] {scaleFactor}, mode, null);
    }

    /** Every option; size or scaleFactor null; alignCorners null means PyTorch's None (false). */
    public Upsample(int[] size, double[] scaleFactor, String mode, Boolean alignCorners) {
        if ((size == null) == (scaleFactor == null)) {
            throw new IllegalArgumentException(size == null ? "either size or scale_factor should be defined"
                    : "only one of size or scale_factor should be defined");
        }
        this.size = size == null ? null : size.clone();
        this.scaleFactor = scaleFactor == null ? null : scaleFactor.clone();
        this.mode = mode;
        this.alignCorners = alignCorners;
    }

    @Override
    public Tensor forward(Tensor input) {
        return F.interpolate(input, size, scaleFactor, mode, alignCorners);
    }

    @Override
    public String extraRepr() {
        String info;
        if (scaleFactor != null) {
            info = "scale_factor=" + (scaleFactor.length == 1 ? Repr.pyFloat(scaleFactor[0])
                    : "(" + Repr.pyFloat(scaleFactor[0]) + ", " + Repr.pyFloat(scaleFactor[1]) + ")");
        } else {
            info = "size=" + Repr.intOrTuple(size);
        }
        return info + ", mode=" + mode;
    }
}
