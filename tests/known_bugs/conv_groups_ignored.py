"""conv2d where every group reads the first group's input channels (the group offset
into the channel axis forgotten): right whenever groups is 1."""

import numpy as np

import reference
from reference import *  # noqa: F403

BUG = {"layer": "conv2d", "checks": ["forward", "backward"]}


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    reference.conv2d_forward(x, weight, bias, stride, padding, dilation, groups)  # the reference's checks
    first_group = x[:, : weight.shape[1]]
    out, cache = reference.conv2d_forward(np.concatenate([first_group] * groups, axis=1), weight, bias, stride, padding, dilation, groups)
    return out, (cache, groups)


def conv2d_backward(dout, cache):
    cache, groups = cache
    dx, dweight, dbias = reference.conv2d_backward(dout, cache)
    batch, channels, height, width = dx.shape
    folded = np.zeros_like(dx)
    folded[:, : channels // groups] = dx.reshape(batch, groups, channels // groups, height, width).sum(axis=1)
    return folded, dweight, dbias
