"""relu's backward through ``x >= 0``: the gradient at exactly 0 passes (PyTorch's is 0).
Only inputs exactly at the kink show it."""

import reference
from reference import *  # noqa: F403

BUG = {"layer": "relu", "checks": ["backward"]}


def relu_forward(x):
    out, _ = reference.relu_forward(x)
    return out, x


def relu_backward(dout, x):
    return dout * (x >= 0)
