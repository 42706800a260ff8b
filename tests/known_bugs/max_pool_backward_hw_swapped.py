"""A learner's max-pool backward that unpacks ``n, c, w, h = x.shape``: H and W swapped.
On square inputs, or 1x1 windows, nothing changes; on others the loops cover the wrong
windows."""

from reference import *  # noqa: F403
from tests.known_bugs._learner_pool import max_pool_backward, max_pool_forward

BUG = {"layer": "max_pool2d", "checks": ["backward"]}


def max_pool2d_forward(x, kernel_size, stride=None):
    return max_pool_forward(x, kernel_size, stride)


def max_pool2d_backward(dout, cache):
    return max_pool_backward(dout, cache, height_width=lambda x: (x.shape[3], x.shape[2]))
