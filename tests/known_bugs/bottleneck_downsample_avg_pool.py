"""Bottleneck whose strided downsample averages 2x2 pixels first and then applies the 1x1
convolution with stride 1 (ResNet-D's downsample, from "Bag of Tricks"), instead of the
1x1 convolution with the stride that torchvision and the SPEC use. Same shapes (ceil mode,
padding not counted), other values."""

from reference import *  # noqa: F403
from reference import seams

BUG = {"layer": "bottleneck", "checks": ["forward", "backward"]}


def _pool_then_conv(x, params, unit, training):
    if unit is None:
        return x, None
    pool_cache = None
    if unit.stride > 1:
        x, pool_cache = avg_pool2d_forward(x, unit.stride, unit.stride, ceil_mode=True, count_include_pad=False)  # noqa: F405
    out, conv_cache, bn_cache = seams.conv_bn_forward(x, params, unit._replace(stride=1), training)
    return out, (pool_cache, seams.UnitCache(conv_cache, bn_cache, None))


def _pool_then_conv_backward(dout, cache, unit, dparams):
    if unit is None:
        return dout
    pool_cache, unit_cache = cache
    dx = seams.conv_bn_backward(dout, unit_cache, unit, dparams)
    return dx if pool_cache is None else avg_pool2d_backward(dx, pool_cache)  # noqa: F405


bottleneck_forward, bottleneck_backward = seams.residual_blocks_with(
    "bottleneck", shortcut_forward=_pool_then_conv, shortcut_backward=_pool_then_conv_backward
)
