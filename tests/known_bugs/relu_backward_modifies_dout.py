"""relu_backward zeroing dout in place (``dout[x <= 0] = 0; return dout``): the gradient
is right, but the caller's upstream gradient is overwritten."""

from reference import *  # noqa: F403

BUG = {"layer": "relu", "checks": ["purity"]}


def relu_backward(dout, cache):
    dout[cache.saved <= 0] = 0
    return dout
