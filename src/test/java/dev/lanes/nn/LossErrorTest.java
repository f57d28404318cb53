package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.DType;
import dev.lanes.Tensor;
import dev.lanes.nn.functional.F;
import org.junit.jupiter.api.Test;

/** The losses of LossGoldenTest refuse what PyTorch 1.13 refuses, with its messages and the shapes or values involved. */
class LossErrorTest {
    private static Tensor longs(int... shape) {
        return Tensor.zeros(shape).toType(DType.INT64);
    }

    @Test
    void spatialTargetsOfTheWrongShapeAreRefusedWithPyTorchsMessages() {
        Tensor x4 = Tensor.zeros(2, 5, 3, 4);
        assertThatThrownBy(() -> F.crossEntropy(x4, longs(2, 3, 5))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("size mismatch (got input: [2, 5, 3, 4] , target: [2, 3, 5])");
        assertThatThrownBy(() -> F.nllLoss(x4, longs(2, 3))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("only batches of spatial targets supported (3D tensors) but got targets of dimension: 2");
        assertThatThrownBy(() -> F.crossEntropy(x4, longs(3, 3, 4))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Expected input batch_size (2) to match target batch_size (3)");
        assertThatThrownBy(() -> F.crossEntropy(Tensor.zeros(2, 5, 3), longs(2, 4))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Expected target size [2, 3], got [2, 4]");
        assertThatThrownBy(() -> F.nllLoss(Tensor.zeros(2, 5, 3), longs(2, 3, 1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Expected target size [2, 3], got [2, 3, 1]");
        assertThatThrownBy(() -> F.crossEntropy(Tensor.zeros(2, 5, 3, 4, 2), longs(2, 3, 4, 3))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Expected target size [2, 3, 4, 2], got [2, 3, 4, 3]");
        assertThatThrownBy(() -> F.crossEntropy(x4, longs(2, 3, 4), Tensor.ones(4), -100, 0, "mean")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: [4]");
        Tensor seven = Tensor.full(new int[] {2, 3, 4}, 7).toType(DType.INT64);
        assertThatThrownBy(() -> F.crossEntropy(x4, seven)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("Target 7 is out of bounds");
    }

    @Test
    void probabilityTargetsRefuseIntegerTargetsAndAnIgnoreIndex() {
        Tensor x4 = Tensor.zeros(2, 5, 3, 4);
        assertThatThrownBy(() -> F.crossEntropy(x4, longs(2, 5, 3, 4))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Expected floating point type for target with class probabilities, got Long");
        assertThatThrownBy(() -> F.crossEntropy(x4, Tensor.zeros(2, 5, 3, 4), null, 1, 0, "mean")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ignore_index is not supported for floating point target");
        assertThatThrownBy(() -> F.crossEntropy(x4, Tensor.zeros(2, 5, 3, 4), Tensor.ones(4), -100, 0, "mean"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cross_entropy: weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: [4]");
        assertThatThrownBy(() -> F.crossEntropy(x4, Tensor.zeros(2, 5, 3, 4), null, -100, 1.5, "mean")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("label_smoothing must be between 0.0 and 1.0. Got: 1.5");
    }

    @Test
    void binaryCrossEntropyRefusesInputsOutsideZeroOneAndMismatchedShapes() {
        Tensor y = Tensor.zeros(3, 4);
        assertThatThrownBy(() -> F.binaryCrossEntropy(Tensor.full(new int[] {3, 4}, 1.5f), y)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("all elements of input should be between 0 and 1").hasMessageContaining("1.5");
        assertThatThrownBy(() -> F.binaryCrossEntropy(Tensor.full(new int[] {3, 4}, -0.25f), y)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("all elements of input should be between 0 and 1").hasMessageContaining("-0.25");
        assertThatThrownBy(() -> F.binaryCrossEntropy(Tensor.full(new int[] {3, 4}, Float.NaN), y)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("all elements of input should be between 0 and 1");
        assertThatThrownBy(() -> new BCELoss().forward(Tensor.zeros(3, 4), Tensor.zeros(2, 4))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[2, 4]").hasMessageContaining("[3, 4]");
        assertThatThrownBy(() -> F.binaryCrossEntropy(Tensor.zeros(3, 4), y, Tensor.ones(2, 3, 4), "mean")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[2, 3, 4]");
    }

    @Test
    void smoothL1HuberAndKlRefuseBadParametersShapesAndReductions() {
        Tensor x = Tensor.zeros(3, 4);
        Tensor y = Tensor.zeros(3, 4);
        assertThatThrownBy(() -> F.smoothL1Loss(x, y, "mean", -1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("smooth_l1_loss does not support negative values for beta");
        assertThatThrownBy(() -> F.huberLoss(x, y, "mean", 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("huber_loss does not support non-positive values for delta");
        assertThatThrownBy(() -> F.huberLoss(x, Tensor.zeros(4), "mean", 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[4]").hasMessageContaining("[3, 4]");
        assertThatThrownBy(() -> F.klDiv(x, Tensor.zeros(3, 5), "batchmean", false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[3, 5]").hasMessageContaining("[3, 4]");
        assertThatThrownBy(() -> F.klDiv(x, y, "foo", false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("foo is not a valid value for reduction");
        assertThatThrownBy(() -> F.smoothL1Loss(x, y, "batchmean", 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("batchmean is not a valid value for reduction");
        assertThatThrownBy(() -> new SmoothL1Loss("avg", 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("avg is not a valid value for reduction");
        assertThatThrownBy(() -> new KLDivLoss("avg", false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("avg is not a valid value for reduction (use 'none', 'batchmean', 'mean' or 'sum')");
    }

    @Test
    void theNewModulesPrintAsPyTorchs() {
        assertThat(new BCELoss().toString()).isEqualTo("BCELoss()");
        assertThat(new SmoothL1Loss().toString()).isEqualTo("SmoothL1Loss()");
        assertThat(new HuberLoss().toString()).isEqualTo("HuberLoss()");
        assertThat(new KLDivLoss().toString()).isEqualTo("KLDivLoss()");
    }
}
