"""linear's dbias averaged over the batch instead of summed."""

from reference import *  # noqa: F403
from reference import dense

BUG = {"layer": "linear", "checks": ["backward"]}


def linear_backward(dout, cache):
    dx, dweight, dbias = dense.linear_backward(dout, cache)
    return dx, dweight, None if dbias is None else dout.reshape(-1, dout.shape[-1]).mean(axis=0)
