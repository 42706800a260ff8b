"""Bottleneck without the ReLU after the sum: out = main + shortcut (the "identity after
addition" variant of the pre-activation ResNet, applied to a post-activation block)."""

from reference import *  # noqa: F403
from tests.known_bugs._residual_bugs import blocks_with

BUG = {"layer": "bottleneck", "checks": ["forward", "backward"]}


def _add(main, shortcut):
    return main + shortcut, None


def _add_backward(dout, cache):
    return dout, dout


bottleneck_forward, bottleneck_backward = blocks_with("bottleneck", _merge_forward=_add, _merge_backward=_add_backward)
