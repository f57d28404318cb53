package dev.lanes.examples;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.memory.MemoryPool;
import dev.lanes.memory.MemoryScope;

/**
 * A tour of the tensor core, in the order of PyTorch's tensor tutorial. Every printed line is what
 * PyTorch prints for the same code.
 *
 * <pre>./mvnw -q test-compile exec:exec -Dlanes.main=dev.lanes.examples.TensorTour</pre> (or <code>examples/lanes tour</code>)
 */
public final class TensorTour {
    private TensorTour() {
    }

    public static void main(String[] args) {
        Lanes.manualSeed(0);
        // Everything created inside the scope returns to the pool when it closes.
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor a = Tensor.of(new float[][] {{5, 2, -1, 3}, {0, -2, -3, -2}});
            System.out.println("a = " + a);
            System.out.println("a.size() = " + a.size());

            // log_softmax by hand: x - max - log(sum(exp(x - max)))
            Tensor shifted = a.sub(a.max(1, true).values());
            Tensor logSoftmax = shifted.sub(shifted.exp().sum(1, true).log());
            System.out.println("log_softmax(a, dim=1) = " + logSoftmax);

            Tensor target = Tensor.arange(0, 10).view(1, 10).toFloat();
            System.out.println("target = " + target);

            Tensor x = Tensor.randn(2, 3);
            Tensor w = Tensor.ones(3, 4).mul(0.5);
            Tensor b = Tensor.arange(0.0, 4.0, 1.0);
            Tensor y = x.matmul(w).add(b).relu(); // broadcasting bias add
            System.out.println("relu(x @ w + b) = " + y);
            System.out.println("sum over dim 1 (keepdim) = " + y.sum(1, true));
            System.out.println("argmax over dim 1 = " + y.argmax(1));
            System.out.println("x.t().contiguous() = " + x.t().contiguous());
            System.out.println("mean = " + y.mean().item() + ", std = " + y.std().item());
        }
        MemoryPool pool = MemoryPool.global();
        System.out.printf("off-heap bytes in use after the scope: %d (pool holds %d idle bytes for reuse)%n",
                pool.bytesInUse(), pool.bytesIdle());
    }
}
