"""Element-wise activations and (log-)softmax, forward and backward.

Every one is written to stay finite for inputs up to |x| = 1e4 without a RuntimeWarning:
softmax subtracts the maximum before exponentiating, log_softmax is ``x - logsumexp``
(never ``log(softmax)``, which is log(0) = -inf for far-below-max entries), and sigmoid
only ever exponentiates ``-|x|``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validation as check


class ActivationCache(NamedTuple):
    # relu: where the input was positive (a bool mask: a quarter of a copy's memory);
    # tanh, sigmoid, softmax, log_softmax: the output.
    saved: np.ndarray
    dim: int | None = None


def _dim(function: str, dim, ndim: int) -> int:
    if not check.is_int(dim):
        raise TypeError(f"{function}: argument 'dim' must be an int; got {dim!r}")
    if not -ndim <= dim < max(ndim, 1):
        raise check.invalid(function, "dim", f"must be in [{-ndim}, {ndim - 1}] for a {ndim}-D input; got {dim}")
    return dim % max(ndim, 1)


def relu_forward(x):
    """``max(x, 0)``. Returns ``(out, cache)``."""
    x = check.float_array("relu_forward", "x", x)
    return np.maximum(x, 0), ActivationCache(x > 0)


def relu_backward(dout, cache: ActivationCache):
    """The gradient passes where the input was positive (PyTorch's choice at 0: none)."""
    dout = check.float_array("relu_backward", "dout", dout)
    return dout * cache.saved


def tanh_forward(x):
    x = check.float_array("tanh_forward", "x", x)
    out = np.tanh(x)
    return out, ActivationCache(out.copy())


def tanh_backward(dout, cache: ActivationCache):
    """``1 - tanh(x)**2``, from the saved output."""
    dout = check.float_array("tanh_backward", "dout", dout)
    return dout * (1 - cache.saved**2)


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` without overflow: only ``exp(-|x|)`` is ever computed."""
    decay = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + decay), decay / (1 + decay))


def sigmoid_forward(x):
    x = check.float_array("sigmoid_forward", "x", x)
    out = stable_sigmoid(x)
    return out, ActivationCache(out.copy())


def sigmoid_backward(dout, cache: ActivationCache):
    """``sigmoid * (1 - sigmoid)``, from the saved *output*."""
    dout = check.float_array("sigmoid_backward", "dout", dout)
    return dout * cache.saved * (1 - cache.saved)


def log_softmax_along(x: np.ndarray, dim: int) -> np.ndarray:
    """``x - logsumexp(x)`` along ``dim``, shifted by the maximum so nothing overflows."""
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


def softmax_forward(x, dim=-1):
    """``exp(x) / sum(exp(x))`` along ``dim``, computed as ``exp(log_softmax(x))``."""
    x = check.float_array("softmax_forward", "x", x)
    dim = _dim("softmax_forward", dim, x.ndim)
    shifted = np.exp(x - x.max(axis=dim, keepdims=True))
    out = shifted / shifted.sum(axis=dim, keepdims=True)
    return out, ActivationCache(out.copy(), dim)


def softmax_backward(dout, cache: ActivationCache):
    """The Jacobian-vector product ``y * (dout - sum(dout * y))`` along ``dim``."""
    dout = check.float_array("softmax_backward", "dout", dout)
    out, dim = cache
    return out * (dout - (dout * out).sum(axis=dim, keepdims=True))


def log_softmax_forward(x, dim=-1):
    x = check.float_array("log_softmax_forward", "x", x)
    dim = _dim("log_softmax_forward", dim, x.ndim)
    out = log_softmax_along(x, dim)
    return out, ActivationCache(out.copy(), dim)


def log_softmax_backward(dout, cache: ActivationCache):
    """``dout - softmax * sum(dout)`` along ``dim``; softmax is ``exp`` of the saved output."""
    dout = check.float_array("log_softmax_backward", "dout", dout)
    out, dim = cache
    return dout - np.exp(out) * dout.sum(axis=dim, keepdims=True)
