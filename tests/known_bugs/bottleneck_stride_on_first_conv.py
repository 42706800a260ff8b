"""Bottleneck with the stride on conv1, the first 1x1 convolution (the original ResNet v1,
as in Caffe), instead of conv2, the 3x3 (torchvision's "ResNet v1.5", the SPEC's). The
shapes agree; the values do not, since a strided 1x1 convolution skips 3 pixels in 4."""

from reference import *  # noqa: F403
from reference.seams import bottleneck_layout, residual_blocks_with

BUG = {"layer": "bottleneck", "checks": ["forward", "backward"]}


def _stride_on_conv1(stride, projects):
    layout = bottleneck_layout(stride, projects)
    conv1, conv2, conv3 = layout.main
    return layout._replace(main=(conv1._replace(stride=stride), conv2._replace(stride=1), conv3))


bottleneck_forward, bottleneck_backward = residual_blocks_with("bottleneck", bottleneck_layout=_stride_on_conv1)
