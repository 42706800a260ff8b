"""BasicBlock whose projection shortcut is the 1x1 convolution alone, without its batch
norm (shortcut.1 is never applied: its running statistics stay as they were and its
gradients are zero)."""

import numpy as np

from reference import *  # noqa: F403
from reference.seams import residual_blocks_with

BUG = {"layer": "basic_block", "checks": ["forward", "backward"]}


def _conv_only(x, params, unit, training):
    if unit is None:
        return x, None
    return conv2d_forward(x, params[f"{unit.conv}.weight"], None, unit.stride, unit.padding)  # noqa: F405


def _conv_only_backward(dout, cache, unit, dparams):
    if unit is None:
        return dout
    dx, dparams[f"{unit.conv}.weight"], _ = conv2d_backward(dout, cache)  # noqa: F405
    dparams[f"{unit.bn}.weight"] = np.zeros(dout.shape[1], dtype=dout.dtype)
    dparams[f"{unit.bn}.bias"] = np.zeros(dout.shape[1], dtype=dout.dtype)
    return dx


basic_block_forward, basic_block_backward = residual_blocks_with(
    "basic_block", shortcut_forward=_conv_only, shortcut_backward=_conv_only_backward
)
