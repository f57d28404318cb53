package dev.lanes;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Reads the golden files written by the generators in {@code src/test/python} (format described in gen_tensor_golden.py). */
final class Golden {
    record Case(String name, DType dtype, int[] shape, double[] data, List<String> repr, String expr) {
        Tensor tensor() {
            if (dtype == DType.BOOL) {
                boolean[] v = new boolean[data.length];
                for (int i = 0; i < v.length; i++) {
                    v[i] = data[i] != 0;
                }
                Tensor t = Tensor.of(v, shape.length == 0 ? new int[] {1} : shape);
                return shape.length == 0 ? t.reshape() : t;
            }
            if (dtype == DType.INT64) {
                long[] v = new long[data.length];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (long) data[i];
                }
                return shape.length == 0 ? Tensor.scalarLong(v[0]) : Tensor.of(v, shape);
            }
            float[] v = new float[data.length];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) data[i];
            }
            return shape.length == 0 ? Tensor.scalar(v[0]) : Tensor.of(v, shape);
        }
    }

    static List<Case> read(String resource) {
        try (InputStream in = Golden.class.getResourceAsStream("/golden/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("missing golden file " + resource + "; run its generator in src/test/python");
            }
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            List<Case> cases = new ArrayList<>();
            for (String block : text.split("\n\n")) {
                if (block.isBlank()) {
                    continue;
                }
                String name = null;
                String expr = null;
                DType dtype = DType.FLOAT32;
                int[] shape = new int[0];
                double[] data = new double[0];
                List<String> repr = new ArrayList<>();
                for (String line : block.split("\n")) {
                    int sp = line.indexOf(' ');
                    String key = sp < 0 ? line : line.substring(0, sp);
                    String rest = sp < 0 ? "" : line.substring(sp + 1);
                    switch (key) {
                        case "case" -> name = rest;
                        case "dtype" -> dtype = switch (rest) {
                            case "int64" -> DType.INT64;
                            case "bool" -> DType.BOOL;
                            default -> DType.FLOAT32;
                        };
                        case "shape" -> shape = rest.isBlank() ? new int[0] : Arrays.stream(rest.trim().split(" ")).mapToInt(Integer::parseInt).toArray();
                        case "data" -> data = rest.isBlank() ? new double[0] : Arrays.stream(rest.trim().split(" ")).mapToDouble(Golden::parse).toArray();
                        case "repr" -> repr.add(rest);
                        case "expr" -> expr = rest;
                        default -> throw new IllegalStateException("bad golden line: " + line);
                    }
                }
                cases.add(new Case(name, dtype, shape, data, repr, expr));
            }
            return cases;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double parse(String s) {
        return switch (s) {
            case "nan" -> Double.NaN;
            case "inf" -> Double.POSITIVE_INFINITY;
            case "-inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(s);
        };
    }
}
