"""sigmoid_backward as x * (1 - x) with the *input* x, where the derivative is
s * (1 - s) of the output s."""

import reference
from reference import *  # noqa: F403

BUG = {"layer": "sigmoid", "checks": ["backward", "gradcheck"]}


def sigmoid_forward(x):
    out, _ = reference.sigmoid_forward(x)
    return out, x.copy()


def sigmoid_backward(dout, x):
    return dout * x * (1 - x)
