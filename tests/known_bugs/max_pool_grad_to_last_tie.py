"""A learner's max-pool backward that sends each window's gradient to its *last* maximum
(``argmax`` of the reversed window): with tied maxima PyTorch sends it to the first. Only
tied windows show it, in the plainest configuration (no padding, no dilation, floor mode)."""

from reference import *  # noqa: F403
from tests.known_bugs._learner_pool import max_pool_backward, max_pool_forward

BUG = {"layer": "max_pool2d", "checks": ["backward"]}


def max_pool2d_forward(x, kernel_size, stride=None):
    return max_pool_forward(x, kernel_size, stride)


def max_pool2d_backward(dout, cache):
    return max_pool_backward(dout, cache, last_tie=True)
