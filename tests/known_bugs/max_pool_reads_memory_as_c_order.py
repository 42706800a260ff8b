"""max_pool2d reading its input's memory in memory order as if it were C order (windows
from ``as_strided`` with strides of its own). Right for contiguous arrays only."""

import reference
from reference import *  # noqa: F403

BUG = {"layer": "max_pool2d", "checks": ["forward"]}


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    as_if_c_order = x.ravel(order="K").reshape(x.shape)
    return reference.max_pool2d_forward(as_if_c_order, kernel_size, stride, padding, dilation, ceil_mode)
