#!/usr/bin/python3
"""Golden values for conv2d, conv_transpose2d, pooling and softmax, forward and backward, from PyTorch (Debian's python3-torch 1.13).

Run from the repository root:  /usr/bin/python3 src/test/python/gen_kernels_golden.py
Writes src/test/resources/golden/kernels.txt in the format of gen_tensor_golden.py. Each case has records
"<case>/<tensor>": the inputs, "gy" (the upstream gradient), "y" (the output) and "d<input>" (the gradients).
KernelsGoldenTest maps each case name to the same call in Lanes.
"""
import os
import torch
import torch.nn.functional as F

from gen_tensor_golden import record, OUT

torch.manual_seed(4321)


def case(f, name, fn, **inputs):
    leaves = {k: v.clone().requires_grad_(v.dtype.is_floating_point) for k, v in inputs.items()}
    y = fn(**leaves)
    gy = torch.randn_like(y)
    y.backward(gy)
    for k, v in leaves.items():
        record(f, f'{name}/{k}', v, [])
    record(f, f'{name}/gy', gy, [])
    record(f, f'{name}/y', y, [])
    for k, v in leaves.items():
        if v.grad is not None:
            record(f, f'{name}/d{k}', v.grad, [])


def main():
    r = torch.randn
    with open(os.path.join(OUT, 'kernels.txt'), 'w') as f:
        # convolution
        case(f, 'conv_lenet1', lambda x, w, b: F.conv2d(x, w, b), x=r(2, 1, 12, 12), w=r(6, 1, 5, 5), b=r(6))
        case(f, 'conv_lenet2', lambda x, w, b: F.conv2d(x, w, b), x=r(2, 6, 9, 9), w=r(16, 6, 5, 5), b=r(16))
        case(f, 'conv_stride_pad', lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), x=r(2, 3, 9, 8), w=r(4, 3, 3, 3), b=r(4))
        case(f, 'conv_pair_args', lambda x, w: F.conv2d(x, w, None, stride=(1, 2), padding=(2, 0), dilation=(2, 1)),
             x=r(1, 2, 7, 9), w=r(3, 2, 3, 2))
        case(f, 'conv_groups', lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2), x=r(2, 4, 6, 6), w=r(6, 2, 3, 3), b=r(6))
        case(f, 'conv_depthwise', lambda x, w: F.conv2d(x, w, None, groups=3), x=r(1, 3, 5, 5), w=r(3, 1, 3, 3))
        case(f, 'conv_1x1', lambda x, w, b: F.conv2d(x, w, b), x=r(2, 5, 4, 3), w=r(7, 5, 1, 1), b=r(7))
        case(f, 'conv_same_even', lambda x, w: F.conv2d(x, w, None, padding='same'), x=r(1, 2, 6, 5), w=r(3, 2, 4, 2))
        case(f, 'conv_same_odd', lambda x, w, b: F.conv2d(x, w, b, padding='same', dilation=2), x=r(1, 2, 7, 7), w=r(2, 2, 3, 3), b=r(2))
        case(f, 'conv_valid', lambda x, w: F.conv2d(x, w, None, padding='valid'), x=r(1, 1, 5, 5), w=r(1, 1, 2, 2))
        # pooling
        case(f, 'maxpool_lenet', lambda x: F.max_pool2d(x, 2), x=r(2, 6, 8, 8))
        case(f, 'maxpool_pad_stride', lambda x: F.max_pool2d(x, 3, stride=2, padding=1), x=r(1, 2, 7, 6))
        case(f, 'maxpool_dilation_ceil', lambda x: F.max_pool2d(x, (2, 3), stride=(2, 2), dilation=(2, 1), ceil_mode=True), x=r(2, 1, 9, 8))
        case(f, 'maxpool_3d_input', lambda x: F.max_pool2d(x, 2, ceil_mode=True), x=r(3, 5, 5))
        case(f, 'avgpool_basic', lambda x: F.avg_pool2d(x, 2), x=r(2, 3, 6, 6))
        case(f, 'avgpool_pad_include', lambda x: F.avg_pool2d(x, 3, stride=2, padding=1), x=r(1, 2, 7, 7))
        case(f, 'avgpool_pad_exclude_ceil', lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
             x=r(1, 2, 8, 8))
        case(f, 'adaptive_avg', lambda x: F.adaptive_avg_pool2d(x, (3, 2)), x=r(2, 3, 7, 5))
        case(f, 'adaptive_avg_global', lambda x: F.adaptive_avg_pool2d(x, 1), x=r(2, 4, 3, 3))
        # softmax
        case(f, 'softmax_last', lambda x: F.softmax(x, dim=1), x=r(3, 37))
        case(f, 'softmax_mid', lambda x: F.softmax(x, dim=1), x=r(2, 5, 19))
        case(f, 'softmax_first', lambda x: F.softmax(x, dim=0), x=r(4, 3))
        case(f, 'log_softmax_last', lambda x: F.log_softmax(x, dim=-1), x=r(4, 10) * 10)
        case(f, 'log_softmax_mid', lambda x: F.log_softmax(x, dim=1), x=r(2, 6, 17))
        case(f, 'log_softmax_seed', lambda x: F.log_softmax(x, dim=1), x=torch.tensor([[5., 2., -1., 3.], [0., -2., -3., -2.]]))
        # transposed convolution (last, so that the earlier cases' random draws stay as they were)
        case(f, 'convT_basic', lambda x, w, b: F.conv_transpose2d(x, w, b), x=r(2, 3, 4, 5), w=r(3, 2, 3, 3), b=r(2))
        case(f, 'convT_stride_pad_outpad', lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
             x=r(2, 3, 5, 4), w=r(3, 4, 3, 3), b=r(4))
        case(f, 'convT_pair_args', lambda x, w: F.conv_transpose2d(x, w, None, stride=(3, 2), padding=(2, 0), output_padding=(1, 0),
                                                                    dilation=(2, 1)), x=r(1, 2, 4, 6), w=r(2, 3, 3, 2))
        case(f, 'convT_groups', lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, groups=2), x=r(2, 4, 5, 5),
             w=r(4, 3, 3, 3), b=r(6))
        case(f, 'convT_depthwise_dilated', lambda x, w: F.conv_transpose2d(x, w, None, padding=2, groups=3, dilation=2), x=r(1, 3, 6, 5),
             w=r(3, 1, 3, 3))
        case(f, 'convT_1x1', lambda x, w, b: F.conv_transpose2d(x, w, b), x=r(2, 5, 4, 3), w=r(5, 7, 1, 1), b=r(7))
        case(f, 'convT_1x1_outpad', lambda x, w: F.conv_transpose2d(x, w, None, output_padding=1, dilation=2), x=r(1, 3, 3, 4),
             w=r(3, 2, 1, 1))
        # asymmetric padding (ONNX's pads [top, left, bottom, right] = [1, 2, 3, 0]; F.pad takes left, right, top, bottom)
        case(f, 'conv_asym_pad', lambda x, w, b: F.conv2d(F.pad(x, (2, 0, 1, 3)), w, b, stride=2), x=r(2, 3, 7, 6), w=r(4, 3, 3, 3), b=r(4))
        case(f, 'convT_large', lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1), x=r(2, 16, 20, 20),
             w=r(16, 8, 4, 4), b=r(8))


if __name__ == '__main__':
    main()
