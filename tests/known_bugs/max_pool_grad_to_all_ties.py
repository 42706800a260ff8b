"""max_pool2d's backward through a mask ``window == window.max()``: with tied maxima every
one of them gets the gradient (PyTorch sends it to the first only)."""

import numpy as np

import reference
from reference import *  # noqa: F403
from reference.seams import pad_spatial, pool_windows, scatter_windows

BUG = {"layer": "max_pool2d", "checks": ["backward"]}


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    out, cache = reference.max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode)
    windows = pool_windows(pad_spatial(x, cache.geometry.padding, value=-np.inf), cache.geometry)
    return out, (windows == out[..., None, None], cache.geometry)


def max_pool2d_backward(dout, cache):
    is_max, geometry = cache
    window_grads = is_max * dout[..., None, None]
    return geometry.crop(scatter_windows(window_grads, geometry.padded_hw, geometry.stride, geometry.dilation))
