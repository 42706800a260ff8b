"""BasicBlock whose projection shortcut ignores the stride (a 1x1 convolution with stride 1)
and, to make the shapes fit, keeps the top-left corner of its output: the shortcut then
reads the wrong pixels (every pixel of the corner instead of every stride-th one)."""

import numpy as np

from reference import *  # noqa: F403
from reference.seams import residual_blocks_with, shortcut_backward, shortcut_forward

BUG = {"layer": "basic_block", "checks": ["forward", "backward"]}


def _stride_ignored(x, params, unit, training):
    if unit is None:
        return x, None
    out, cache = shortcut_forward(x, params, unit._replace(stride=1), training)
    height, width = (x.shape[2] - 1) // unit.stride + 1, (x.shape[3] - 1) // unit.stride + 1
    return out[..., :height, :width], (cache, out.shape)


def _stride_ignored_backward(dout, cache, unit, dparams):
    if unit is None:
        return dout
    inner, full_shape = cache
    dfull = np.zeros(full_shape, dtype=dout.dtype)
    dfull[..., : dout.shape[2], : dout.shape[3]] = dout
    return shortcut_backward(dfull, inner, unit._replace(stride=1), dparams)


basic_block_forward, basic_block_backward = residual_blocks_with(
    "basic_block", shortcut_forward=_stride_ignored, shortcut_backward=_stride_ignored_backward
)
