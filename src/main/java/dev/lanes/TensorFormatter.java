package dev.lanes;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * PyTorch's tensor repr ({@code torch/_tensor_str.py}, default print options: precision 4, threshold 1000,
 * edgeitems 3, linewidth 80), reproduced rule for rule so printed output matches PyTorch's character for
 * character: integer mode ({@code 1.}), fixed ({@code 0.1234}) or scientific ({@code 1.2346e+05}) chosen
 * from the finite non-zero values, right-aligned to one width, wrapped at 80 columns.
 *
 * <p>Numbers are rounded from their exact binary value, half to even, as Python's formatting does
 * (Java's {@code String.format} rounds the shortest decimal form half-up and would differ on ties).
 */
final class TensorFormatter {
    private static final int PRECISION = 4;
    private static final int THRESHOLD = 1000;
    private static final int EDGE = 3;
    private static final int LINEWIDTH = 80;
    private static final String PREFIX = "tensor(";

    private final boolean floating;
    private final boolean bool;
    private boolean intMode = true;
    private boolean sciMode;
    private int maxWidth = 1;

    private TensorFormatter(Tensor t, boolean summarize) {
        floating = t.dtype().isFloatingPoint();
        bool = t.dtype() == DType.BOOL;
        List<Double> values = new ArrayList<>();
        collect(t, t.storageOffset(), 0, summarize, values);
        if (bool) { // "True" / "False", padded to the widest present, like PyTorch
            for (double v : values) {
                maxWidth = Math.max(maxWidth, v != 0 ? 4 : 5);
            }
            return;
        }
        if (!floating) {
            for (long v : collectLongs(t, summarize)) { // int64 exactly: through a double, 2^53 + 1 printed as 2^53
                maxWidth = Math.max(maxWidth, Long.toString(v).length());
            }
            return;
        }
        List<Double> nonzeroFinite = new ArrayList<>();
        for (double v : values) {
            if (Double.isFinite(v) && v != 0) {
                nonzeroFinite.add(v);
            }
        }
        if (nonzeroFinite.isEmpty()) {
            return;
        }
        double min = Double.POSITIVE_INFINITY;
        double max = 0;
        for (double v : nonzeroFinite) {
            min = Math.min(min, Math.abs(v));
            max = Math.max(max, Math.abs(v));
            if (v != Math.ceil(v)) {
                intMode = false;
            }
        }
        if (intMode) {
            if (max / min > 1000. || max > 1.e8) {
                sciMode = true;
                for (double v : nonzeroFinite) {
                    maxWidth = Math.max(maxWidth, sci(v).length());
                }
            } else {
                for (double v : nonzeroFinite) {
                    maxWidth = Math.max(maxWidth, fixed(v, 0).length() + 1);
                }
            }
        } else {
            if (max / min > 1000. || max > 1.e8 || min < 1.e-4) {
                sciMode = true;
                for (double v : nonzeroFinite) {
                    maxWidth = Math.max(maxWidth, sci(v).length());
                }
            } else {
                for (double v : nonzeroFinite) {
                    maxWidth = Math.max(maxWidth, fixed(v, PRECISION).length());
                }
            }
        }
    }

    static String format(Tensor t, List<String> suffixes) {
        String body;
        if (t.numel() == 0) {
            body = "[]";
        } else {
            boolean summarize = t.numel() > THRESHOLD;
            TensorFormatter f = new TensorFormatter(t, summarize);
            body = f.str(t, t.storageOffset(), 0, PREFIX.length(), summarize);
        }
        return addSuffixes(PREFIX + body, suffixes, PREFIX.length());
    }

    /** Values that decide the format: all of them, or only the edge items when summarizing. */
    private static void collect(Tensor t, long base, int dim, boolean summarize, List<Double> out) {
        visit(t, base, dim, summarize, i -> out.add(t.valueAtStorageIndex(i)));
    }

    /** The storage index of every element that is printed (only the edge items when summarizing), in order. */
    private static void visit(Tensor t, long base, int dim, boolean summarize, java.util.function.LongConsumer atIndex) {
        int[] shape = t.shapeRef();
        int[] strides = t.stridesRef();
        if (dim == shape.length) {
            atIndex.accept(base);
            return;
        }
        int n = shape[dim];
        for (int i = 0; i < n; i++) {
            if (summarize && n > 2 * EDGE && i == EDGE) {
                i = n - EDGE;
            }
            visit(t, base + (long) i * strides[dim], dim + 1, summarize, atIndex);
        }
    }

    private String str(Tensor t, long base, int dim, int indent, boolean summarize) {
        int[] shape = t.shapeRef();
        int[] strides = t.stridesRef();
        int nd = shape.length - dim;
        if (nd == 0) {
            return format(t, base);
        }
        int n = shape[dim];
        if (nd == 1) {
            int elementLength = maxWidth + 2;
            int perLine = Math.max(1, (LINEWIDTH - indent) / elementLength);
            List<String> data = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (summarize && n > 2 * EDGE && i == EDGE) {
                    data.add(" ...");
                    i = n - EDGE;
                }
                data.add(format(t, base + (long) i * strides[dim]));
            }
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < data.size(); i++) {
                if (i > 0) {
                    sb.append(i % perLine == 0 ? ",\n" + " ".repeat(indent + 1) : ", ");
                }
                sb.append(data.get(i));
            }
            return sb.append(']').toString();
        }
        List<String> slices = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (summarize && n > 2 * EDGE && i == EDGE) {
                slices.add("...");
                i = n - EDGE;
            }
            slices.add(str(t, base + (long) i * strides[dim], dim + 1, indent + 1, summarize));
        }
        String sep = "," + "\n".repeat(nd - 1) + " ".repeat(indent + 1);
        return "[" + String.join(sep, slices) + "]";
    }

    /** The element at storage position {@code index}, formatted (an int64 read as a long). */
    private String format(Tensor t, long index) {
        if (!floating && !bool) {
            String s = Long.toString(t.longAtStorageIndex(index));
            return s.length() >= maxWidth ? s : " ".repeat(maxWidth - s.length()) + s;
        }
        return fmt(t.valueAtStorageIndex(index));
    }

    /** The int64 values that decide the widths, as {@link #collect} takes them. */
    private static List<Long> collectLongs(Tensor t, boolean summarize) {
        List<Long> out = new ArrayList<>();
        visit(t, t.storageOffset(), 0, summarize, i -> out.add(t.longAtStorageIndex(i)));
        return out;
    }

    private String fmt(double v) {
        String s;
        if (bool) {
            s = v != 0 ? "True" : "False";
        } else if (!floating) {
            s = Long.toString((long) v);
        } else if (Double.isNaN(v)) {
            s = "nan";
        } else if (Double.isInfinite(v)) {
            s = v > 0 ? "inf" : "-inf";
        } else if (sciMode) {
            s = sci(v);
        } else if (intMode) {
            s = fixed(v, 0) + ".";
        } else {
            s = fixed(v, PRECISION);
        }
        return s.length() >= maxWidth ? s : " ".repeat(maxWidth - s.length()) + s;
    }

    /** Python's {@code '{:.Nf}'.format(v)}. */
    static String fixed(double v, int decimals) {
        if (v == 0) {
            String z = decimals == 0 ? "0" : "0." + "0".repeat(decimals);
            return (1 / v < 0 ? "-" : "") + z;
        }
        String s = new BigDecimal(v).setScale(decimals, RoundingMode.HALF_EVEN).toPlainString();
        if (v < 0 && !s.startsWith("-")) { // -0.00001 rounds to "0.0000": Python keeps the sign
            s = "-" + s;
        }
        return s;
    }

    /** Python's {@code '{:.4e}'.format(v)}: {@code 1.2346e+05}, at least two exponent digits. */
    static String sci(double v) {
        if (v == 0) {
            return (1 / v < 0 ? "-" : "") + "0." + "0".repeat(PRECISION) + "e+00";
        }
        BigDecimal bd = new BigDecimal(v).round(new MathContext(PRECISION + 1, RoundingMode.HALF_EVEN));
        int exponent = bd.precision() - bd.scale() - 1;
        BigDecimal mantissa = bd.movePointLeft(exponent).setScale(PRECISION, RoundingMode.HALF_EVEN);
        String e = Integer.toString(Math.abs(exponent));
        return mantissa.toPlainString() + "e" + (exponent < 0 ? "-" : "+") + (e.length() < 2 ? "0" + e : e);
    }

    private static String addSuffixes(String tensorStr, List<String> suffixes, int indent) {
        StringBuilder sb = new StringBuilder(tensorStr);
        int lastLineLen = tensorStr.length() - tensorStr.lastIndexOf('\n') + 1;
        for (String suffix : suffixes) {
            if (lastLineLen + suffix.length() + 2 > LINEWIDTH) {
                sb.append(",\n").append(" ".repeat(indent)).append(suffix);
                lastLineLen = indent + suffix.length();
            } else {
                sb.append(", ").append(suffix);
                lastLineLen += suffix.length() + 2;
            }
        }
        return sb.append(')').toString();
    }
}
