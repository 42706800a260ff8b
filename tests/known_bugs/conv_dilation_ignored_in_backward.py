"""conv2d's backward pass written for dilation 1: right whenever dilation is 1."""

from reference import *  # noqa: F403
from reference import conv

BUG = {"layer": "conv2d", "checks": ["backward", "gradcheck"]}


def conv2d_backward(dout, cache):
    return conv.conv2d_backward(dout, cache._replace(dilation=(1, 1), columns=None))
