"""conv2d's dbias averaged over batch and pixels instead of summed."""

from reference import *  # noqa: F403
from reference import conv

BUG = {"layer": "conv2d", "checks": ["backward", "gradcheck"]}


def conv2d_backward(dout, cache):
    dx, dweight, dbias = conv.conv2d_backward(dout, cache)
    return dx, dweight, None if dbias is None else dout.mean(axis=(0, 2, 3))
