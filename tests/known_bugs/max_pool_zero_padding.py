"""max_pool2d padding with zeros instead of -inf: wrong wherever a window that overlaps
the padding holds only negative values."""

import numpy as np

import reference
from reference import *  # noqa: F403
from reference.seams import pad_spatial, pool_windows

BUG = {"layer": "max_pool2d", "checks": ["forward"]}


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    _, cache = reference.max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode)
    flat = pool_windows(pad_spatial(x, cache.geometry.padding, value=0.0), cache.geometry)
    flat = flat.reshape(*flat.shape[:4], -1)
    argmax = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]
    return out, cache._replace(argmax=argmax)
