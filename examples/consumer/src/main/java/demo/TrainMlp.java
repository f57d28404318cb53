package demo;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.memory.MemoryScope;
import dev.lanes.nn.CrossEntropyLoss;
import dev.lanes.nn.Linear;
import dev.lanes.nn.ReLU;
import dev.lanes.nn.Sequential;
import dev.lanes.optim.Adam;

/** A two-layer MLP learning to classify random points by the sign of their first coordinate. */
public class TrainMlp {
    public static void main(String[] args) {
        Lanes.manualSeed(0);
        Sequential net = new Sequential(new Linear(16, 64), new ReLU(), new Linear(64, 2));
        Adam optimizer = new Adam(net.parameters(), 1e-2);
        CrossEntropyLoss criterion = new CrossEntropyLoss();
        Tensor x = Tensor.randn(256, 16);
        Tensor y = x.narrow(1, 0, 1).gt(0).view(-1).toType(dev.lanes.DType.INT64);
        float first = 0;
        float last = 0;
        for (int step = 0; step < 100; step++) {
            try (MemoryScope scope = MemoryScope.open()) {
                optimizer.zeroGrad();
                Tensor loss = criterion.forward(net.forward(x), y);
                loss.backward();
                optimizer.step();
                last = loss.item();
                first = step == 0 ? last : first;
            }
        }
        System.out.printf("loss %.4f -> %.4f%n", first, last);
        if (!(last < first / 2)) {
            throw new IllegalStateException("the loss did not fall: " + first + " -> " + last);
        }
    }
}
