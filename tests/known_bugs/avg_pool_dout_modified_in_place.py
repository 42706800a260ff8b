"""avg_pool2d's backward dividing ``dout`` by the window sizes in place (``dout /= ...``):
the gradients are right, but the caller's upstream gradient is overwritten."""

import numpy as np

from reference import *  # noqa: F403
from reference.seams import scatter_windows

BUG = {"layer": "avg_pool2d", "checks": ["purity"]}


def avg_pool2d_backward(dout, cache):
    dout /= cache.divisor
    geometry = cache.geometry
    window_grads = np.broadcast_to(dout[..., None, None], (*dout.shape, *geometry.kernel))
    return geometry.crop(scatter_windows(window_grads, geometry.padded_hw, geometry.stride, geometry.dilation))
