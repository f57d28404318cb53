package dev.lanes.serve;

import java.nio.charset.StandardCharsets;

/**
 * Reads the numbers of a request body: a JSON array {@code [0.5, 1e-3, ...]} or an object holding one such array
 * under a key ({@code {"pixels": [...]}}; other keys are skipped whatever their values). Strict JSON (RFC 8259):
 * NaN, Infinity, trailing commas, comments and trailing garbage are rejected, with the character position, as
 * {@link IllegalArgumentException}s a service can return as HTTP 400. Numbers outside float range are refused
 * rather than turned into infinities.
 */
public final class JsonFloats {
    private static final int MAX_DEPTH = 32;

    private final byte[] s;
    private final int end;
    private int i;
    private int depth;

    private JsonFloats(byte[] s, int length) {
        this.s = s;
        this.end = length;
    }

    /** The floats of a body that is an array, or an object with the array under {@code key}. */
    public static float[] parse(byte[] body, String key) {
        return parse(body, body.length, key);
    }

    /** As {@link #parse(byte[], String)} over the first {@code length} bytes. */
    public static float[] parse(byte[] body, int length, String key) {
        JsonFloats p = new JsonFloats(body, length);
        p.ws();
        float[] result;
        if (p.peek() == '[') {
            result = p.array();
        } else if (p.peek() == '{') {
            result = p.objectWith(key);
        } else {
            throw p.error("expected a JSON array of numbers or an object with \"" + key + "\"");
        }
        p.ws();
        if (p.i != p.end) {
            throw p.error("unexpected characters after the JSON value");
        }
        return result;
    }

    private int peek() {
        return i < end ? s[i] & 0xff : -1;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("invalid JSON: " + what + " at character " + i);
    }

    private void ws() {
        while (i < end) {
            byte c = s[i];
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
                return;
            }
            i++;
        }
    }

    private void expect(char c) {
        if (peek() != c) {
            throw error("expected '" + c + "'");
        }
        i++;
    }

    private float[] objectWith(String key) {
        expect('{');
        float[] found = null;
        ws();
        if (peek() == '}') {
            i++;
            throw error("the object has no \"" + key + "\"");
        }
        while (true) {
            ws();
            String k = string();
            ws();
            expect(':');
            ws();
            if (k.equals(key)) {
                if (found != null) {
                    throw error("duplicate key \"" + key + "\"");
                }
                if (peek() != '[') {
                    throw error("\"" + key + "\" must be an array of numbers");
                }
                found = array();
            } else {
                skipValue();
            }
            ws();
            if (peek() == ',') {
                i++;
                continue;
            }
            expect('}');
            break;
        }
        if (found == null) {
            throw error("the object has no \"" + key + "\"");
        }
        return found;
    }

    private float[] array() {
        expect('[');
        float[] v = new float[64];
        int n = 0;
        ws();
        if (peek() == ']') {
            i++;
            return new float[0];
        }
        while (true) {
            ws();
            if (n == v.length) {
                v = java.util.Arrays.copyOf(v, 2 * n);
            }
            v[n++] = number();
            ws();
            if (peek() == ',') {
                i++;
                continue;
            }
            if (peek() == ']') {
                i++;
                return java.util.Arrays.copyOf(v, n);
            }
            throw error(peek() < 0 ? "unterminated array" : "expected ',' or ']' after element " + (n - 1));
        }
    }

    private float number() {
        int start = i;
        if (peek() == '-') {
            i++;
        }
        if (peek() == '0') {
            i++;
        } else if (peek() >= '1' && peek() <= '9') {
            while (peek() >= '0' && peek() <= '9') {
                i++;
            }
        } else {
            i = start;
            int c = peek();
            throw error(c == 'N' || c == 'I' || (c == '-' && i + 1 < end && s[i + 1] == 'I')
                    ? "NaN and Infinity are not JSON numbers" : c < 0 ? "unexpected end of input" : "expected a number");
        }
        if (peek() == '.') {
            i++;
            if (!(peek() >= '0' && peek() <= '9')) {
                throw error("expected a digit after '.'");
            }
            while (peek() >= '0' && peek() <= '9') {
                i++;
            }
        }
        if (peek() == 'e' || peek() == 'E') {
            i++;
            if (peek() == '+' || peek() == '-') {
                i++;
            }
            if (!(peek() >= '0' && peek() <= '9')) {
                throw error("expected a digit in the exponent");
            }
            while (peek() >= '0' && peek() <= '9') {
                i++;
            }
        }
        String text = new String(s, start, i - start, StandardCharsets.US_ASCII);
        float f = Float.parseFloat(text);
        if (Float.isInfinite(f)) {
            i = start;
            throw error("number " + text + " is outside the float range");
        }
        return f;
    }

    private String string() {
        expect('"');
        StringBuilder sb = new StringBuilder();
        while (true) {
            int c = peek();
            if (c < 0) {
                throw error("unterminated string");
            }
            i++;
            if (c == '"') {
                return sb.toString();
            }
            if (c == '\\') {
                int e = peek();
                i++;
                String bad = dev.lanes.io.Json.appendEscape(e, i + 4 <= end ? new String(s, i, 4, StandardCharsets.US_ASCII) : null, sb);
                if (bad != null) {
                    throw error(bad);
                }
                if (e == 'u') {
                    i += 4;
                }
            } else if (c < 0x20) {
                throw error("control character in string");
            } else {
                sb.append((char) c); // keys are ASCII here; other bytes only need to be skipped
            }
        }
    }

    private void skipValue() {
        if (++depth > MAX_DEPTH) {
            throw error("nesting deeper than " + MAX_DEPTH);
        }
        int c = peek();
        if (c == '"') {
            string();
        } else if (c == '[' || c == '{') {
            i++;
            int close = c == '[' ? ']' : '}';
            ws();
            if (peek() == close) {
                i++;
            } else {
                while (true) {
                    ws();
                    if (close == '}') {
                        string();
                        ws();
                        expect(':');
                        ws();
                    }
                    skipValue();
                    ws();
                    if (peek() == ',') {
                        i++;
                        continue;
                    }
                    expect((char) close);
                    break;
                }
            }
        } else if (c == 't' || c == 'f' || c == 'n') {
            String lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
            if (i + lit.length() > end || !new String(s, i, lit.length(), StandardCharsets.US_ASCII).equals(lit)) {
                throw error("unknown literal");
            }
            i += lit.length();
        } else {
            number();
        }
        depth--;
    }
}
