package dev.lanes.examples;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.autograd.Autograd;
import dev.lanes.nn.Conv2d;
import dev.lanes.nn.Linear;
import dev.lanes.nn.MSELoss;
import dev.lanes.nn.Module;
import dev.lanes.nn.functional.F;
import dev.lanes.optim.SGD;
import java.util.List;
import java.util.Map;

/**
 * The classic PyTorch LeNet walkthrough (shared/seeds), cell by cell, in Lanes. Each cell prints what PyTorch
 * prints; numbers differ only because the weights are drawn from a different random generator.
 *
 * <pre>./mvnw -q test-compile exec:exec -Dlanes.main=dev.lanes.examples.SeedWalkthrough</pre>
 */
public final class SeedWalkthrough {
    private SeedWalkthrough() {
    }

    /** The walkthrough's network: two conv + max-pool blocks, three linear layers, ReLU after each. */
    public static class Net extends Module {
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
            return F.relu(fc3.forward(x));
        }
    }

    public static void main(String[] args) {
        Lanes.manualSeed(1);

        // In [9]: define the network and print it
        Net net = new Net();
        System.out.println(net);

        // In [10]: learnable parameters
        List<Tensor> params = net.parameters();
        System.out.println(params.size());

        // In [11]: names and sizes
        for (Map.Entry<String, Tensor> e : net.namedParameters().entrySet()) {
            System.out.println(e.getKey() + " : " + e.getValue().size());
        }

        // In [47]: forward a random image
        Tensor input = Tensor.randn(1, 1, 32, 32);
        Tensor out = net.forward(input);
        System.out.println(out.size());

        // In [48]: zero the gradients, backward with ones
        net.zeroGrad();
        out.backward(Tensor.onesLike(out));

        // In [49]: a loss
        Tensor output = net.forward(input);
        Tensor target = Tensor.arange(0, 10).view(1, 10).toFloat();
        MSELoss criterion = new MSELoss();
        Tensor loss = criterion.forward(output, target);
        System.out.println(loss);

        // In [50]: gradients before and after backward (PyTorch 2 zero_grad sets them to None; the seed printed zeros)
        net.zeroGrad(false);
        System.out.println("before backward, conv1.bias.grad");
        System.out.println(net.conv1.bias.grad());
        loss.backward();
        System.out.println("after backward, conv1.bias.grad");
        System.out.println(net.conv1.bias.grad());

        // the manual update: for f in net.parameters(): f.data.sub_(f.grad.data * learning_rate)
        double learningRate = 0.01;
        for (Tensor f : net.parameters()) {
            f.data().sub_(f.grad().data().mul(learningRate));
        }

        // In [54]: the optimizer loop
        SGD optimizer = new SGD(net.parameters(), 0.1, 0.5);
        optimizer.zeroGrad();
        output = net.forward(input);
        loss = criterion.forward(output, target);
        loss.backward();
        optimizer.step();
        System.out.println("loss the SGD step descended (computed before it): " + loss.item());

        // In [56]: log_softmax
        Tensor a = Tensor.of(new float[][] {{5, 2, -1, 3}, {0, -2, -3, -2}});
        try (Autograd.Mode g = Autograd.noGrad()) {
            System.out.println(F.logSoftmax(a, 1));
        }
    }
}
