package dev.lanes.nn;

/** How Python prints option values in module reprs. */
final class Repr {
    private Repr() {
    }

    /** {@code 2} for a single int, {@code (2, 3)} for a pair. */
    static String intOrTuple(int[] v) {
        return v.length == 1 ? Integer.toString(v[0]) : "(" + v[0] + ", " + v[1] + ")";
    }

    static String bool(boolean b) {
        return b ? "True" : "False";
    }

    /**
     * Python's repr of a float: the shortest digits that read back as {@code v} (Java's since JDK 19: the same
     * digits), fixed-point for a decimal exponent in [-4, 16) ({@code 0.0001}, {@code 12345678.5}), else
     * {@code d.ddde-XX} ({@code 1e-05}, {@code 1e+16}); {@code nan}, {@code inf}, {@code -0.0}.
     */
    static String pyFloat(double v) {
        if (Double.isNaN(v)) {
            return "nan";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "inf" : "-inf";
        }
        if (v == 0) {
            return Double.doubleToRawLongBits(v) < 0 ? "-0.0" : "0.0";
        }
        java.math.BigDecimal d = new java.math.BigDecimal(Double.toString(Math.abs(v))).stripTrailingZeros();
        String digits = d.unscaledValue().toString();
        int exp = digits.length() - 1 - d.scale(); // the decimal exponent of the first digit
        String sign = v < 0 ? "-" : "";
        if (exp >= -4 && exp < 16) {
            String plain = d.toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mant + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
    }
}
