package dev.lanes.examples;

import dev.lanes.Tensor;
import dev.lanes.nn.Conv2d;
import dev.lanes.nn.Linear;
import dev.lanes.nn.Module;
import dev.lanes.nn.functional.F;

/**
 * The walkthrough's LeNet for training: the same layers, but the last layer's logits stay free (no ReLU), which
 * cross-entropy needs (with the ReLU, PyTorch runs on MNIST leave a class dead on some seeds).
 */
public class LeNet extends Module {
    public final Conv2d conv1 = register("conv1", new Conv2d(1, 6, 5));
    public final Conv2d conv2 = register("conv2", new Conv2d(6, 16, 5));
    public final Linear fc1 = register("fc1", new Linear(16 * 5 * 5, 120));
    public final Linear fc2 = register("fc2", new Linear(120, 84));
    public final Linear fc3 = register("fc3", new Linear(84, 10));

    @Override
    public Tensor forward(Tensor x) {
        x = F.relu(F.maxPool2d(conv1.forward(x), 2));
        x = F.relu(F.maxPool2d(conv2.forward(x), 2));
        x = x.view(-1, 16 * 5 * 5);
        x = F.relu(fc1.forward(x));
        x = F.relu(fc2.forward(x));
        return fc3.forward(x);
    }
}
