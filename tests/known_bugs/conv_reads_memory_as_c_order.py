"""conv2d reading its input's memory in memory order as if it were C order, which is what
building the im2col windows with ``as_strided`` and strides computed from the shape does.
Right for contiguous arrays; wrong for a Fortran-ordered or transposed one."""

import reference
from reference import *  # noqa: F403

BUG = {"layer": "conv2d", "checks": ["forward", "backward"]}


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    as_if_c_order = x.ravel(order="K").reshape(x.shape)
    return reference.conv2d_forward(as_if_c_order, weight, bias, stride, padding, dilation, groups)
