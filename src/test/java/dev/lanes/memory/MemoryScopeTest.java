package dev.lanes.memory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.Tensor;
import org.junit.jupiter.api.Test;

/** MemoryScope.keep moves only what the scope owns (an audit found otherwise; fails before). */
class MemoryScopeTest {

    /**
     * keep() of an object the scope does not own leaves it where it is: it was added to the enclosing scope anyway, so
     * a tensor the caller owned was released when that scope closed, and one an outer scope owned was released by the
     * middle scope, before the outer scope was done with it.
     */
    @Test
    void keepingWhatTheScopeDoesNotOwnMovesNothing() {
        Tensor w = Tensor.ones(3); // the caller's: made outside any scope
        try (MemoryScope outer = MemoryScope.open()) {
            try (MemoryScope inner = MemoryScope.open()) {
                assertThat(inner.keep(w)).isSameAs(w);
                assertThat(outer.size()).isZero();
            }
        }
        assertThat(w.isReleased()).as("the caller's tensor after the scopes closed").isFalse();
        assertThat(w.sum().item()).isEqualTo(3f);
        w.close();

        Tensor a;
        Tensor kept;
        try (MemoryScope outer = MemoryScope.open()) {
            a = Tensor.ones(2); // the outer scope's
            try (MemoryScope middle = MemoryScope.open()) {
                try (MemoryScope inner = MemoryScope.open()) {
                    inner.keep(a);
                    kept = inner.keep(Tensor.ones(4)); // the inner scope's own: moves to the middle one
                }
                assertThat(kept.isReleased()).isFalse();
            }
            assertThat(a.isReleased()).as("the outer scope's tensor, after the middle scope closed").isFalse();
            assertThat(kept.isReleased()).as("the kept tensor, released with the middle scope").isTrue();
        }
        assertThat(a.isReleased()).as("the outer scope's tensor, after it closed").isTrue();
    }
}
