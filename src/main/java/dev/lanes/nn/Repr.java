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

    /** Python's repr of a float: {@code 0.5}, {@code 1e-05}, {@code 0.1}. */
    static String pyFloat(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e16) {
            return (long) v + ".0";
        }
        String s = Double.toString(v);
        if (s.contains("E")) { // 1.0E-5 -> 1e-05
            String[] parts = s.split("E");
            String mant = parts[0].endsWith(".0") ? parts[0].substring(0, parts[0].length() - 2) : parts[0];
            int exp = Integer.parseInt(parts[1]);
            return mant + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
        }
        return s;
    }
}
