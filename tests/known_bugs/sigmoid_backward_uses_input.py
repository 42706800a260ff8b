"""sigmoid_backward as x * (1 - x) with the *input* x, where the derivative is
s * (1 - s) of the output s."""

from reference import *  # noqa: F403
from reference import activations

BUG = {"layer": "sigmoid", "checks": ["backward", "gradcheck"]}


def sigmoid_forward(x):
    out, _ = activations.sigmoid_forward(x)
    return out, x.copy()


def sigmoid_backward(dout, x):
    return dout * x * (1 - x)
