package dev.lanes.examples;

import dev.lanes.Tensor;
import dev.lanes.nn.AdaptiveAvgPool2d;
import dev.lanes.nn.BatchNorm2d;
import dev.lanes.nn.Conv2d;
import dev.lanes.nn.Init;
import dev.lanes.nn.Linear;
import dev.lanes.nn.Module;
import dev.lanes.nn.Sequential;
import dev.lanes.nn.functional.F;

/**
 * He et al.'s CIFAR ResNet-20 ("Deep Residual Learning for Image Recognition", section 4.2): a 3x3 convolution to
 * 16 channels with BatchNorm and ReLU, three stages of three {@link BasicBlock}s (16, 32 and 64 channels; the first
 * block of stages 2 and 3 halves the resolution with stride 2), global average pooling and {@code Linear(64, classes)}.
 * Shortcuts are "option B": a 1x1 convolution (stride 2) with BatchNorm where the shape changes, identity elsewhere.
 *
 * <p>Parameter names follow torchvision's ResNet ({@code conv1}, {@code bn1}, {@code layer1.0.conv1},
 * {@code layer2.0.downsample.0}, {@code fc}), so a state dict of the PyTorch twin in
 * {@code src/test/python/gen_resnet_parity.py} loads as it is. Initialisation as torchvision's: Kaiming normal for the
 * convolutions (fan out, ReLU gain: std {@code sqrt(2 / (out * kH * kW))}), BatchNorm weight 1 and bias 0, PyTorch's
 * default for the linear layer. On 28x28 inputs (Fashion-MNIST) the stages run at 28, 14 and 7 pixels; on CIFAR's
 * 32x32 at 32, 16 and 8. About 0.27M parameters.
 */
public class ResNet20 extends Module {
    public final Conv2d conv1;
    public final BatchNorm2d bn1;
    public final Sequential layer1;
    public final Sequential layer2;
    public final Sequential layer3;
    public final AdaptiveAvgPool2d avgpool;
    public final Linear fc;

    /** {@code inChannels}: 1 for (Fashion-)MNIST, 3 for CIFAR-10. */
    public ResNet20(int inChannels, int numClasses) {
        if (inChannels <= 0 || numClasses <= 0) {
            throw new IllegalArgumentException("inChannels and numClasses must be positive, got " + inChannels + " and " + numClasses);
        }
        conv1 = register("conv1", conv3x3(inChannels, 16, 1));
        bn1 = register("bn1", new BatchNorm2d(16));
        layer1 = register("layer1", stage(16, 16, 1));
        layer2 = register("layer2", stage(16, 32, 2));
        layer3 = register("layer3", stage(32, 64, 2));
        avgpool = register("avgpool", new AdaptiveAvgPool2d(1));
        fc = register("fc", new Linear(64, numClasses));
        for (Module m : modules()) {
            if (m instanceof Conv2d c) {
                int fanOut = Init.fans(c.weight)[1];
                Init.normal_(c.weight, 0, Math.sqrt(2.0 / fanOut)); // kaiming_normal_(mode="fan_out", nonlinearity="relu")
            }
            // BatchNorm2d starts at weight 1, bias 0 already (torchvision sets the same explicitly)
        }
    }

    private static Sequential stage(int in, int out, int stride) {
        return new Sequential(new BasicBlock(in, out, stride), new BasicBlock(out, out, 1), new BasicBlock(out, out, 1));
    }

    static Conv2d conv3x3(int in, int out, int stride) {
        return new Conv2d(in, out, new int[] {3}, new int[] {stride}, new int[] {1}, new int[] {1}, 1, false);
    }

    static Conv2d conv1x1(int in, int out, int stride) {
        return new Conv2d(in, out, new int[] {1}, new int[] {stride}, new int[] {0}, new int[] {1}, 1, false);
    }

    @Override
    public Tensor forward(Tensor x) {
        x = F.relu(bn1.forward(conv1.forward(x)));
        x = layer3.forward(layer2.forward(layer1.forward(x)));
        return fc.forward(avgpool.forward(x).flatten(1, -1));
    }

    /** Two 3x3 convolutions with BatchNorm, ReLU between them and after the sum with the shortcut; torchvision's names. */
    public static class BasicBlock extends Module {
        public final Conv2d conv1;
        public final BatchNorm2d bn1;
        public final Conv2d conv2;
        public final BatchNorm2d bn2;
        /** 1x1 convolution and BatchNorm where the shape changes ("option B"); null for an identity shortcut. */
        public final Sequential downsample;

        public BasicBlock(int in, int out, int stride) {
            conv1 = register("conv1", conv3x3(in, out, stride));
            bn1 = register("bn1", new BatchNorm2d(out));
            conv2 = register("conv2", conv3x3(out, out, 1));
            bn2 = register("bn2", new BatchNorm2d(out));
            downsample = stride != 1 || in != out ? register("downsample", new Sequential(conv1x1(in, out, stride), new BatchNorm2d(out))) : null;
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor out = F.relu(bn1.forward(conv1.forward(x)));
            out = bn2.forward(conv2.forward(out));
            Tensor identity = downsample != null ? downsample.forward(x) : x;
            return F.relu(out.add(identity));
        }
    }
}
