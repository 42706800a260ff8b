"""conv2d's dx computed without spreading dout by the stride (no zeros inserted): right
whenever the stride is 1."""

import reference
from reference import *  # noqa: F403
from reference import seams

BUG = {"layer": "conv2d", "checks": ["backward", "gradcheck"]}


def conv2d_backward(dout, cache):
    _, dweight, dbias = reference.conv2d_backward(dout, cache)
    top, bottom, left, right = cache.padding
    input_hw = (cache.x_padded.shape[1] - top - bottom, cache.x_padded.shape[2] - left - right)
    return seams.input_grad(dout, cache.weight, (1, 1), cache.dilation, cache.groups, cache.padding, input_hw), dweight, dbias
