"""conv2d's backward pass written for dilation 1: right whenever dilation is 1."""

import reference
from reference import *  # noqa: F403

BUG = {"layer": "conv2d", "checks": ["backward", "gradcheck"]}


def conv2d_backward(dout, cache):
    return reference.conv2d_backward(dout, cache._replace(dilation=(1, 1), columns=None))
