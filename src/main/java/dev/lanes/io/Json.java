package dev.lanes.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The small JSON subset safetensors headers use: objects (insertion order kept), arrays, strings, integers and
 * the literals; anything else (or trailing garbage, or nesting deeper than 64) is rejected with the position.
 * Public for {@link #quote} only (services writing JSON); the parser stays internal to the safetensors reader.
 */
public final class Json {
    private final String s;
    private int i;
    private int depth;
    /** Values and keys read so far, against {@link #MAX_VALUES}. */
    private int values;

    private Json(String s) {
        this.s = s;
    }

    static Object parse(String text) {
        Json p = new Json(text);
        p.ws();
        Object v = p.value();
        p.ws();
        if (p.i != text.length()) {
            throw p.error("unexpected trailing characters");
        }
        return v;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("invalid JSON header: " + what + " at character " + i);
    }

    private void ws() {
        while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\n' || s.charAt(i) == '\r' || s.charAt(i) == '\t')) {
            i++;
        }
    }

    private Object value() {
        count();
        if (i >= s.length()) {
            throw error("unexpected end");
        }
        char c = s.charAt(i);
        return switch (c) {
            case '{' -> object();
            case '[' -> array();
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) {
                    yield number();
                }
                throw error("unexpected character '" + c + "'");
            }
        };
    }

    private Object literal(String word, Object v) {
        if (!s.startsWith(word, i)) {
            throw error("expected " + word);
        }
        i += word.length();
        return v;
    }

    private Long number() {
        int start = i;
        if (s.charAt(i) == '-') {
            i++;
        }
        int digits = i;
        while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') { // ASCII only: Character.isDigit took '٤' for 4
            i++;
        }
        if (i - digits > 1 && s.charAt(digits) == '0') {
            throw error("a number may not have leading zeros (JSON): '" + s.substring(start, i) + "'");
        }
        if (i < s.length() && (s.charAt(i) == '.' || s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
            throw error("only integers are expected in a safetensors header");
        }
        try {
            return Long.parseLong(s.substring(start, i));
        } catch (NumberFormatException e) {
            throw error("bad integer '" + s.substring(start, i) + "'");
        }
    }

    private String string() {
        i++; // opening quote
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (i >= s.length()) {
                throw error("unterminated string");
            }
            char c = s.charAt(i++);
            if (c == '"') {
                return sb.toString();
            }
            if (c == '\\') {
                if (i >= s.length()) {
                    throw error("unterminated escape");
                }
                char e = s.charAt(i++);
                String bad = appendEscape(e, i + 4 <= s.length() ? s.substring(i, i + 4) : null, sb);
                if (bad != null) {
                    throw error(bad);
                }
                if (e == 'u') {
                    i += 4;
                }
            } else if (c < 0x20) {
                throw error("control character in string");
            } else {
                sb.append(c);
            }
        }
    }

    private Map<String, Object> object() {
        enter();
        i++;
        Map<String, Object> m = new LinkedHashMap<>();
        ws();
        if (i < s.length() && s.charAt(i) == '}') {
            i++;
            depth--;
            return m;
        }
        while (true) {
            ws();
            if (i >= s.length() || s.charAt(i) != '"') {
                throw error("expected a key");
            }
            count();
            String k = string();
            ws();
            expect(':');
            ws();
            if (m.containsKey(k)) {
                throw error("duplicate key '" + k + "'");
            }
            m.put(k, value());
            ws();
            if (i < s.length() && s.charAt(i) == ',') {
                i++;
                continue;
            }
            expect('}');
            depth--;
            return m;
        }
    }

    private List<Object> array() {
        enter();
        i++;
        List<Object> l = new ArrayList<>();
        ws();
        if (i < s.length() && s.charAt(i) == ']') {
            i++;
            depth--;
            return l;
        }
        while (true) {
            ws();
            if (l.size() == MAX_ARRAY_VALUES) { // a header of "1,1,1,...": 50 M values were 1 GB of heap before any check
                throw error("an array of more than " + MAX_ARRAY_VALUES + " values");
            }
            l.add(value());
            ws();
            if (i < s.length() && s.charAt(i) == ',') {
                i++;
                continue;
            }
            expect(']');
            depth--;
            return l;
        }
    }

    /** Most values of one array: a safetensors header's arrays are shapes and offset pairs (Lanes' own JSON is small). */
    static final int MAX_ARRAY_VALUES = 1 << 16;
    /**
     * Values and keys in one header (2 M: 65,536 tensor entries of ~16 each, and metadata): the per-array bound alone let
     * a 100 MB header of metadata keys, or of arrays of arrays, take 1 GB of heap or more.
     */
    static final int MAX_VALUES = 1 << 21;

    private void count() {
        if (++values > MAX_VALUES) {
            throw error("more than " + MAX_VALUES + " values and keys");
        }
    }

    private void enter() {
        if (++depth > 64) {
            throw error("nesting too deep");
        }
    }

    private void expect(char c) {
        if (i >= s.length() || s.charAt(i) != c) {
            throw error("expected '" + c + "'");
        }
        i++;
    }

    /**
     * Decodes the string escape whose letter {@code e} follows a backslash, appending the character to {@code sb}: the
     * one escape decoder of Lanes' two JSON readers (this one and {@code serve.JsonFloats}). For {@code \\u},
     * {@code hex} holds the next four characters (null when fewer remain). Returns null, or the error to report.
     */
    public static String appendEscape(int e, String hex, StringBuilder sb) {
        switch (e) {
            case '"', '\\', '/' -> sb.append((char) e);
            case 'b' -> sb.append('\b');
            case 'f' -> sb.append('\f');
            case 'n' -> sb.append('\n');
            case 'r' -> sb.append('\r');
            case 't' -> sb.append('\t');
            case 'u' -> {
                if (hex == null || !hex.chars().allMatch(java.util.HexFormat::isHexDigit)) {
                    return "bad \\u escape"; // four hex digits exactly: parseInt alone would take "+1ab" or "-001"
                }
                sb.append((char) Integer.parseInt(hex, 16));
            }
            default -> {
                return "bad escape \\" + (e < 0 ? "(end of input)" : String.valueOf((char) e));
            }
        }
        return null;
    }

    /** A JSON string literal for {@code s} (quotes, backslashes and control characters escaped). */
    public static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
