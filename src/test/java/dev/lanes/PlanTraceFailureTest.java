package dev.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lanes.memory.MemoryPool;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A trace that fails after its forward ran (here the self-check's run cannot get its arena: the off-heap budget is
 * full) gives back the hold the tracer took on every weight storage. Before, the constants were released only for a
 * failure inside the forward, so a failing compile or self-check kept the model's weights in use for good, even after
 * the caller closed them. In a child JVM with a 64 MB budget (filling the global pool here would starve the other tests).
 */
class PlanTraceFailureTest {
    private static final int WEIGHT_BYTES = 512 * 512 * 4;

    public static void main(String[] args) throws Exception {
        MemoryPool pool = MemoryPool.global();
        long before = pool.bytesInUse();
        Tensor w = Tensor.randn(512, 512);
        List<Tensor> fill = new ArrayList<>();
        String failure = "none";
        try {
            InferencePlan plan = InferencePlan.trace(x -> {
                Tensor y = x.mm(w);
                // another thread fills the budget (this one traces): the plan's arena is then refused in the self-check
                Thread filler = new Thread(() -> {
                    for (int floats : new int[] {1 << 18, 1 << 12, 1 << 8}) { // 1 MB, 16 KB, 1 KB blocks until refused
                        try {
                            while (true) {
                                fill.add(Tensor.zeros(floats));
                            }
                        } catch (OutOfMemoryError full) {
                            // the next, smaller size
                        }
                    }
                });
                filler.start();
                try {
                    filler.join();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return y;
            }, 1, 512);
            plan.close();
        } catch (OutOfMemoryError e) {
            failure = e.getClass().getSimpleName();
        }
        fill.forEach(Tensor::close);
        w.close();
        System.out.println("result " + failure + " held " + (pool.bytesInUse() - before));
    }

    @Test
    void aTraceFailingAfterItsForwardReleasesTheWeights() throws Exception {
        String line = ChildJvm.lastLine(PlanTraceFailureTest.class, List.of("-Dlanes.memory.budget=64m"), List.of(), "result ", 120);
        System.out.println("PlanTraceFailureTest child: " + line);
        String[] r = line.split(" ");
        assertThat(r[0]).as("the trace's failure (its self-check refused an arena)").isEqualTo("OffHeapBudgetError");
        assertThat(Long.parseLong(r[2])).as("bytes still in use after the weights and the fillers were closed").isLessThan(WEIGHT_BYTES / 2);
    }
}
