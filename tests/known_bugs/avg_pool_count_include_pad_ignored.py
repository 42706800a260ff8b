"""avg_pool2d always dividing by kernel_h * kernel_w: ignores count_include_pad=False and
counts the ceil-mode overhang."""

import numpy as np

import reference
from reference import *  # noqa: F403

BUG = {"layer": "avg_pool2d", "checks": ["forward", "backward"]}


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    out, cache = reference.avg_pool2d_forward(x, kernel_size, stride, padding, ceil_mode, count_include_pad)
    area = np.full_like(cache.divisor, cache.geometry.kernel[0] * cache.geometry.kernel[1])
    return out * cache.divisor / area, cache._replace(divisor=area)
