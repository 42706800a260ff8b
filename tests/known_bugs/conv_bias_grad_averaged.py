"""conv2d's dbias averaged over batch and pixels instead of summed."""

import reference
from reference import *  # noqa: F403

BUG = {"layer": "conv2d", "checks": ["backward", "gradcheck"]}


def conv2d_backward(dout, cache):
    dx, dweight, dbias = reference.conv2d_backward(dout, cache)
    return dx, dweight, None if dbias is None else dout.mean(axis=(0, 2, 3))
