"""BasicBlock with the last ReLU on the main branch, before the sum: relu(main) + shortcut
instead of relu(main + shortcut). Its backward is consistent with that forward, so only
parity with PyTorch catches it."""

from reference import *  # noqa: F403
from reference.seams import residual_blocks_with

BUG = {"layer": "basic_block", "checks": ["forward", "backward"]}


def _relu_then_add(main, shortcut):
    activated, cache = relu_forward(main)  # noqa: F405
    return activated + shortcut, cache


def _relu_then_add_backward(dout, cache):
    return relu_backward(dout, cache), dout  # noqa: F405


basic_block_forward, basic_block_backward = residual_blocks_with(
    "basic_block", merge_forward=_relu_then_add, merge_backward=_relu_then_add_backward
)
