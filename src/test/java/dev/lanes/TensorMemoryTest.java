package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.memory.MemoryPool;
import dev.lanes.memory.MemoryScope;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Deterministic release, scopes, views and the use-after-release guard, at the tensor level. */
class TensorMemoryTest {
    private static final MemoryPool POOL = MemoryPool.global();

    @Test
    void longLoopStaysBoundedAndTakesNothingNewFromTheSystem() {
        Tensor w = Tensor.randn(64, 64);
        Runnable step = () -> {
            try (MemoryScope s = MemoryScope.open()) {
                Tensor x = Tensor.ones(32, 64).mul(0.5);
                Tensor y = x.mm(w).relu().add(x.sum(1, true));
                float v = y.mean().item();
                assertThat(v).isFinite();
            }
        };
        for (int i = 0; i < 1_000; i++) {
            step.run();
        }
        long allocationsAfterWarmup = POOL.systemAllocations();
        long reservedAfterWarmup = POOL.bytesReserved();
        for (int i = 0; i < 100_000; i++) {
            step.run();
        }
        assertThat(POOL.systemAllocations()).as("new blocks taken from the system in steady state").isEqualTo(allocationsAfterWarmup);
        assertThat(POOL.bytesReserved()).isLessThanOrEqualTo(reservedAfterWarmup);
        w.close();
    }

    @Test
    void explicitCloseInALoopIsAlsoBounded() {
        for (int i = 0; i < 200; i++) {
            try (Tensor a = Tensor.ones(1000); Tensor b = a.add(a)) {
                b.sum().close();
            }
        }
        long alloc = POOL.systemAllocations();
        for (int i = 0; i < 100_000; i++) {
            try (Tensor a = Tensor.ones(1000); Tensor b = a.add(a); Tensor s = b.sum()) {
                assertThat(s.numel()).isOne();
            }
        }
        assertThat(POOL.systemAllocations()).isEqualTo(alloc);
    }

    @Test
    void scopeReleasesEverythingCreatedInside() {
        List<Tensor> made = new ArrayList<>();
        long inUseBefore = POOL.bytesInUse();
        Tensor kept;
        try (MemoryScope s = MemoryScope.open()) {
            Tensor a = Tensor.randn(100, 100);
            made.add(a);
            made.add(a.view(-1));
            made.add(a.t());
            made.add(a.add(1).exp());
            try (MemoryScope inner = MemoryScope.open()) {
                made.add(a.sum(0));
                kept = inner.keep(a.mul(2)); // moves to the outer scope
            }
            assertThat(kept.isReleased()).isFalse();
            assertThat(made.get(4).isReleased()).isTrue(); // the inner scope released its own
            assertThat(s.size()).isGreaterThanOrEqualTo(5);
        }
        assertThat(made).allMatch(Tensor::isReleased);
        assertThat(kept.isReleased()).isTrue();
        assertThat(POOL.bytesInUse()).isLessThanOrEqualTo(inUseBefore);
    }

    @Test
    void keptOutOfTheOutermostScopeBelongsToTheCaller() {
        Tensor result;
        try (MemoryScope s = MemoryScope.open()) {
            result = s.keep(Tensor.ones(3).mul(2));
        }
        assertThat(result.isReleased()).isFalse();
        assertThat(result.sum().item()).isEqualTo(6f);
        result.close();
    }

    @Test
    void useAfterReleaseThrowsNamingShapeAndReason() {
        Tensor x = Tensor.zeros(2, 3);
        x.close();
        assertThatThrownBy(x::sum).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Tensor of shape [2, 3]").hasMessageContaining("released by Tensor.close()");
        assertThatThrownBy(() -> x.view(6)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> x.add_(1)).isInstanceOf(IllegalStateException.class);
        x.close(); // closing twice is harmless

        Tensor y;
        try (MemoryScope s = MemoryScope.open()) {
            y = Tensor.ones(4);
        }
        assertThatThrownBy(y::toFloatArray).isInstanceOf(IllegalStateException.class).hasMessageContaining("released by MemoryScope.close()");
    }

    @Test
    void viewsKeepTheStorageAliveAfterTheBaseIsClosed() {
        Tensor base = Tensor.arange(0.0, 4.0, 1.0);
        Tensor v = base.view(2, 2);
        base.close();
        assertThat(v.toFloatArray()).containsExactly(0, 1, 2, 3);
        v.close();
        assertThatThrownBy(v::toFloatArray).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void droppedTensorsAreReclaimedAfterGc() throws InterruptedException {
        System.gc();
        long before = POOL.bytesInUse();
        for (int i = 0; i < 50; i++) {
            Tensor.zeros(256, 1024); // 1 MiB each, never closed
        }
        assertThat(POOL.bytesInUse()).isGreaterThanOrEqualTo(before + (40L << 20));
        for (int i = 0; i < 100 && POOL.bytesInUse() > before + (8L << 20); i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(POOL.bytesInUse()).isLessThanOrEqualTo(before + (8L << 20));
    }

    @Test
    void independentThreadsAllocateConcurrently() throws Exception {
        Concurrently.run(4, id -> {
            for (int i = 0; i < 5_000; i++) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor a = Tensor.ones(17, 33);
                    assertThat(a.mul(3).sum().item()).isEqualTo(17 * 33 * 3f);
                }
            }
        });
    }
}
