"""Bottleneck without the ReLU after the sum: out = main + shortcut (the "identity after
addition" variant of the pre-activation ResNet, applied to a post-activation block)."""

from reference import *  # noqa: F403
from reference.seams import residual_blocks_with

BUG = {"layer": "bottleneck", "checks": ["forward", "backward"]}


def _add(main, shortcut):
    return main + shortcut, None


def _add_backward(dout, cache):
    return dout, dout


bottleneck_forward, bottleneck_backward = residual_blocks_with("bottleneck", merge_forward=_add, merge_backward=_add_backward)
