"""conv2d's dx computed without spreading dout by the stride (no zeros inserted): right
whenever the stride is 1."""

from reference import *  # noqa: F403
from reference import conv

BUG = {"layer": "conv2d", "checks": ["backward", "gradcheck"]}


def conv2d_backward(dout, cache):
    _, dweight, dbias = conv.conv2d_backward(dout, cache)
    dx_padded = conv.input_grad(dout, cache.weight, (1, 1), cache.dilation, cache.groups, cache.x_padded.shape[2:])
    top, bottom, left, right = cache.padding
    height, width = cache.x_padded.shape[2] - top - bottom, cache.x_padded.shape[3] - left - right
    return dx_padded[:, :, top : top + height, left : left + width], dweight, dbias
