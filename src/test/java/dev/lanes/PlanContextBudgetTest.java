package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.memory.MemoryPool;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A run that finds no idle execution context and cannot allocate one (the off-heap budget is full) fails with the
 * pool's OutOfMemoryError and takes nothing with it: once the memory is back, close() still frees the plan's
 * constants. Before, the failed call stayed counted as running, so close() left the weights held for good. In a
 * child JVM with a 64 MB budget (filling the global pool here would starve the other tests).
 */
class PlanContextBudgetTest {
    private static final int WEIGHT_BYTES = 512 * 512 * 4;

    public static void main(String[] args) throws Exception {
        MemoryPool pool = MemoryPool.global();
        long before = pool.bytesInUse();
        Tensor w = Tensor.randn(512, 512);
        InferencePlan plan = InferencePlan.trace(x -> x.mm(w), 1, 512); // its self-check leaves one idle context
        w.close(); // the plan's own hold keeps the weights
        List<Tensor> fill = new ArrayList<>();
        for (int floats : new int[] {1 << 18, 1 << 14, 1 << 10, 1 << 8}) { // 1 MB, 64 KB, 4 KB, 1 KB blocks until refused
            try {
                while (true) {
                    fill.add(Tensor.zeros(floats));
                }
            } catch (OutOfMemoryError full) {
                // the next, smaller size
            }
        }
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger ran = new AtomicInteger();
        long end = System.nanoTime() + 2_000_000_000L;
        Runnable caller = () -> {
            float[] in = new float[512], out = new float[512];
            while (System.nanoTime() < end) {
                try {
                    plan.run(in, out); // two callers, one context: the second must allocate one
                    ran.incrementAndGet();
                } catch (OutOfMemoryError e) {
                    refused.incrementAndGet();
                }
            }
        };
        Thread t1 = new Thread(caller), t2 = new Thread(caller);
        t1.start();
        t2.start();
        t1.join();
        t2.join();
        fill.forEach(Tensor::close);
        plan.close();
        System.out.println("result refused " + refused.get() + " ran " + ran.get() + " held " + (pool.bytesInUse() - before));
    }

    @Test
    void aRunRefusedItsContextLeavesCloseToFreeTheWeights() throws Exception {
        String[] r = ChildJvm.lastLine(PlanContextBudgetTest.class, List.of("-Dlanes.memory.budget=64m"), List.of(), "result ", 120).split(" ");
        int refused = Integer.parseInt(r[1]);
        long held = Long.parseLong(r[5]);
        assertThat(refused).as("runs refused a context (the budget was full)").isPositive();
        assertThat(held).as("bytes still in use after the plan and the fillers were closed").isLessThan(WEIGHT_BYTES);
    }
}
