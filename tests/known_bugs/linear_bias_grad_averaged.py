"""linear's dbias averaged over the batch instead of summed."""

import reference
from reference import *  # noqa: F403

BUG = {"layer": "linear", "checks": ["backward"]}


def linear_backward(dout, cache):
    dx, dweight, dbias = reference.linear_backward(dout, cache)
    return dx, dweight, None if dbias is None else dout.reshape(-1, dout.shape[-1]).mean(axis=0)
