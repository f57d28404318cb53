package dev.lanes.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JsonFloatsTest {
    private static float[] parse(String s) {
        return JsonFloats.parse(s.getBytes(StandardCharsets.UTF_8), "pixels");
    }

    @Test
    void readsArraysAndObjectsWithTheKey() {
        assertThat(parse(" [1, -2.5, 3e2, 0.125E-1, -0] ")).containsExactly(1f, -2.5f, 300f, 0.0125f, -0f);
        assertThat(parse("[]")).isEmpty();
        assertThat(parse("{\"id\": \"a\\\"b\", \"meta\": {\"x\": [1, {\"y\": null}], \"t\": true}, \"pixels\": [7, 8]}")).containsExactly(7f, 8f);
        float[] big = new float[2000];
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < big.length; i++) {
            big[i] = i * 0.5f;
            sb.append(i > 0 ? "," : "").append(big[i]);
        }
        assertThat(parse(sb.append(']').toString())).containsExactly(big);
    }

    /** Keys go through the one escape decoder shared with io.Json: every JSON escape, and nothing else. */
    @Test
    void decodesKeyEscapesStrictly() {
        assertThat(parse("{\"pi\\u0078els\": [1]}")).containsExactly(1f);
        assertThat(parse("{\"a\\n\\t\\/\\\\\\\"\": 0, \"pixels\": [2]}")).containsExactly(2f);
        assertThatThrownBy(() -> parse("{\"pi\\u-078els\": [1]}")).hasMessageContaining("bad \\u escape");
        assertThatThrownBy(() -> parse("{\"pi\\u+078els\": [1]}")).hasMessageContaining("bad \\u escape");
        assertThatThrownBy(() -> parse("{\"p\\u00\"")).hasMessageContaining("escape");
        assertThatThrownBy(() -> parse("{\"p\\x\": [1]}")).hasMessageContaining("bad escape \\x");
    }

    @Test
    void rejectsWhatIsNotStrictJsonWithThePosition() {
        assertThatThrownBy(() -> parse("[1, NaN]")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN and Infinity")
                .hasMessageContaining("character 4");
        assertThatThrownBy(() -> parse("[1, -Infinity]")).hasMessageContaining("NaN and Infinity");
        assertThatThrownBy(() -> parse("[1, 2,]")).hasMessageContaining("expected a number");
        assertThatThrownBy(() -> parse("[1 2]")).hasMessageContaining("expected ',' or ']'");
        assertThatThrownBy(() -> parse("[1, 2")).hasMessageContaining("unterminated");
        assertThatThrownBy(() -> parse("[1e39]")).hasMessageContaining("outside the float range");
        assertThatThrownBy(() -> parse("[01]")).hasMessageContaining("expected ',' or ']'");
        assertThatThrownBy(() -> parse("[1.]")).hasMessageContaining("digit after '.'");
        assertThatThrownBy(() -> parse("[1] x")).hasMessageContaining("after the JSON value");
        assertThatThrownBy(() -> parse("{\"image\": [1]}")).hasMessageContaining("no \"pixels\"");
        assertThatThrownBy(() -> parse("{\"pixels\": 3}")).hasMessageContaining("must be an array");
        assertThatThrownBy(() -> parse("{\"pixels\": [1], \"pixels\": [2]}")).hasMessageContaining("duplicate");
        assertThatThrownBy(() -> parse("\"hello\"")).hasMessageContaining("expected a JSON array");
        assertThatThrownBy(() -> parse("")).hasMessageContaining("expected a JSON array");
        assertThatThrownBy(() -> parse("{\"a\": " + "[".repeat(100) + "]".repeat(100) + ", \"pixels\": [1]}")).hasMessageContaining("nesting");
    }
}
