package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** toString() against PyTorch's repr, character for character (golden/format.txt). */
class FormatGoldenTest {
    static Stream<Golden.Case> cases() {
        return Golden.read("format.txt").stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void printsLikePyTorch(Golden.Case c) {
        try (Tensor t = c.tensor()) {
            assertThat(t.toString()).as(c.name()).isEqualTo(String.join("\n", c.repr()));
        }
    }

    @Test
    void nonContiguousViewsPrintTheirLogicalOrder() {
        try (Tensor x = Tensor.of(new float[] {1.5f, 2, 3, 4, 5, 6}, 2, 3); Tensor t = x.t()) {
            assertThat(t.toString()).isEqualTo("tensor([[1.5000, 4.0000],\n        [2.0000, 5.0000],\n        [3.0000, 6.0000]])");
        }
    }

    @Test
    void sizePrintsLikeTorchSize() {
        try (Tensor x = Tensor.zeros(1, 10)) {
            assertThat(x.size().toString()).isEqualTo("Size([1, 10])");
            assertThat(Size.of().toString()).isEqualTo("Size([])");
        }
    }

    @Test
    void releasedTensorPrintsWithoutReadingMemory() {
        Tensor x = Tensor.ones(2);
        x.close();
        assertThat(x.toString()).contains("released by Tensor.close()");
    }
}
