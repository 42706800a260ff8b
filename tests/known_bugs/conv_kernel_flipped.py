"""conv2d as a true convolution: the kernel flipped in space (PyTorch's conv2d is
cross-correlation). Its gradients are consistent with its own forward, so only parity
with PyTorch can catch it."""

import reference
from reference import *  # noqa: F403

BUG = {"layer": "conv2d", "checks": ["forward", "backward"]}


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return reference.conv2d_forward(x, weight[..., ::-1, ::-1].copy(), bias, stride, padding, dilation, groups)


def conv2d_backward(dout, cache):
    dx, dweight, dbias = reference.conv2d_backward(dout, cache)
    return dx, dweight[..., ::-1, ::-1].copy(), dbias
