"""Loss functions: cross entropy, negative log likelihood, mean squared error and binary
cross entropy with logits, forward and backward.

Every loss first computes one loss per item (per row for the class losses, per element for
MSE and BCE), then reduces: ``'none'`` keeps them, ``'sum'`` adds them, ``'mean'`` divides
the sum by the number of items that count (``ignore_index`` rows do not). The backward
passes run the same steps in reverse: ``_upstream`` turns ``dloss`` into a per-item
gradient, which each loss multiplies by its local derivative.

Cross entropy is ``nll_loss(log_softmax(logits))``, composed exactly as PyTorch composes it,
so both share one NLL core and the gradients agree to the last bit of float64.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validation as check
from .activations import log_softmax_along, stable_sigmoid

REDUCTIONS = ("mean", "sum", "none")


# ----------------------------------------------------------------------------- shared


def _reduction(function: str, reduction) -> str:
    if not (isinstance(reduction, str) and reduction in REDUCTIONS):
        raise check.invalid(function, "reduction", f"must be 'mean', 'sum' or 'none'; got {reduction!r}")
    return reduction


def _reduce(per_item: np.ndarray, reduction: str, count: int, dtype: np.dtype) -> np.ndarray:
    """The loss from the per-item losses; 'mean' and 'sum' give a 0-d array of ``dtype``."""
    if reduction == "none":
        return per_item
    total = per_item.sum()
    if reduction == "sum":
        return np.asarray(total, dtype=dtype)
    if count == 0:  # every item ignored (or none at all): PyTorch's 0 / 0, without the warning
        return np.asarray(np.nan, dtype=dtype)
    return np.asarray(total / count, dtype=dtype)


def _upstream(function: str, dloss, reduction: str, shape: tuple[int, ...], count: int, dtype: np.dtype) -> np.ndarray:
    """``dloss`` as the gradient of each per-item loss: an array of ``shape`` ('none') or a
    0-d array that broadcasts against it ('sum', and 'mean' divided by ``count``)."""
    upstream = np.asarray(dloss)
    if upstream.dtype.kind not in "fiu":
        raise TypeError(f"{function}: argument 'dloss' must be a real number or array; got {type(dloss).__name__} of {upstream.dtype}")
    expected = shape if reduction == "none" else ()
    if upstream.shape != expected:
        raise check.invalid(function, "dloss", f"must have shape {expected} for reduction={reduction!r}; got {upstream.shape}")
    upstream = upstream.astype(dtype)
    if reduction == "mean":
        # No item counted: nothing receives a gradient (PyTorch returns zeros, not NaN).
        upstream = upstream / count if count else np.zeros((), dtype=dtype)
    return upstream.astype(dtype, copy=False)


# ------------------------------------------------------------ negative log likelihood


class NllCache(NamedTuple):
    labels: np.ndarray  # (N,) intp: the target class; ignored rows point at class 0
    counted: np.ndarray  # (N,) bool: the row's target is not ignore_index
    num_counted: int  # the divisor of 'mean'
    num_classes: int
    reduction: str
    dtype: np.dtype


class CrossEntropyCache(NamedTuple):
    log_probs: np.ndarray  # (N, C): log_softmax of the logits, exp() of it is the softmax
    nll: NllCache


def _class_targets(function: str, target, num_rows: int, num_classes: int, ignore_index) -> tuple[np.ndarray, np.ndarray]:
    """Validate an integer target and return ``(labels, counted)`` as stored in ``NllCache``."""
    if not (isinstance(target, np.ndarray) and np.issubdtype(target.dtype, np.integer)):
        got = f"dtype {target.dtype}" if isinstance(target, np.ndarray) else type(target).__name__
        raise TypeError(f"{function}: argument 'target' must be a numpy.ndarray of an integer dtype; got {got}")
    check.shape_is(function, "target", target, (num_rows,))
    if not check.is_int(ignore_index):
        raise TypeError(f"{function}: argument 'ignore_index' must be an int; got {ignore_index!r}")
    ignore_index = int(ignore_index)
    # An ignore_index outside the target dtype's range (-100 for uint8) matches no target;
    # comparing against it directly would overflow or wrap on older NumPy.
    limits = np.iinfo(target.dtype)
    if limits.min <= ignore_index <= limits.max:
        counted = target != np.asarray(ignore_index, dtype=target.dtype)
    else:
        counted = np.ones(num_rows, dtype=bool)
    bad = counted & ((target < 0) | (target >= num_classes))
    if bad.any():
        row = int(np.argmax(bad))
        raise check.invalid(
            function, "target",
            f"must hold class indices in [0, {num_classes}) or ignore_index={ignore_index}; got {target[row]} at index {row}",
        )
    labels = np.where(counted, target, 0).astype(np.intp)  # a fresh array: the caller's target may change later
    return labels, counted


def _nll(log_probs: np.ndarray, labels: np.ndarray, counted: np.ndarray, reduction: str):
    """The NLL core shared with cross entropy: ``-log_probs[n, target[n]]`` per counted row."""
    picked = log_probs[np.arange(log_probs.shape[0]), labels]
    # where(), not a 0/1 weight: an ignored row's -inf log-probability must give 0, not NaN.
    per_row = np.where(counted, -picked, log_probs.dtype.type(0))
    count = int(counted.sum())
    cache = NllCache(labels, counted, count, log_probs.shape[1], reduction, log_probs.dtype)
    return _reduce(per_row, reduction, count, log_probs.dtype), cache


def _nll_grad(function: str, dloss, cache: NllCache) -> np.ndarray:
    """``-dloss`` at each counted row's target class, zero everywhere else."""
    labels, counted, num_counted, num_classes, reduction, dtype = cache
    upstream = np.broadcast_to(_upstream(function, dloss, reduction, labels.shape, num_counted, dtype), labels.shape)
    dlog_probs = np.zeros((labels.shape[0], num_classes), dtype=dtype)
    dlog_probs[np.arange(labels.shape[0]), labels] = np.where(counted, -upstream, dtype.type(0))
    return dlog_probs


def nll_loss_forward(log_probs, target, reduction="mean", ignore_index=-100):
    """Negative log likelihood of the target classes, given log-probabilities ``(N, C)``."""
    function = "nll_loss_forward"
    log_probs = check.float_array(function, "log_probs", log_probs, ndim=2)
    labels, counted = _class_targets(function, target, *log_probs.shape, ignore_index)
    return _nll(log_probs, labels, counted, _reduction(function, reduction))


def nll_loss_backward(dloss, cache: NllCache):
    """The loss reads one log-probability per row, so only that entry gets a gradient."""
    return _nll_grad("nll_loss_backward", dloss, cache)


def cross_entropy_forward(logits, target, reduction="mean", ignore_index=-100):
    """Softmax cross entropy of ``(N, C)`` logits against integer class targets ``(N,)``."""
    function = "cross_entropy_forward"
    logits = check.float_array(function, "logits", logits, ndim=2)
    if logits.shape[1] == 0:
        raise check.invalid(function, "logits", f"must have at least one class; got shape {logits.shape}")
    labels, counted = _class_targets(function, target, *logits.shape, ignore_index)
    reduction = _reduction(function, reduction)
    log_probs = log_softmax_along(logits, dim=1)  # max-shifted: logits of 1e4 stay exact
    loss, nll_cache = _nll(log_probs, labels, counted, reduction)
    return loss, CrossEntropyCache(log_probs, nll_cache)


def cross_entropy_backward(dloss, cache: CrossEntropyCache):
    """NLL's gradient through log_softmax: ``g - softmax * g.sum(row)``, which is
    ``(softmax - onehot) * dloss_row``, computed in the order PyTorch's autograd does."""
    dlog_probs = _nll_grad("cross_entropy_backward", dloss, cache.nll)
    return dlog_probs - np.exp(cache.log_probs) * dlog_probs.sum(axis=1, keepdims=True)


# --------------------------------------------------------------- element-wise losses


class ElementwiseLossCache(NamedTuple):
    residual: np.ndarray  # MSE: input - target; BCE: sigmoid(logits) - target
    reduction: str


def _paired_arrays(function: str, first: str, x, target, reduction) -> tuple[np.ndarray, np.ndarray, str]:
    """A float input, a target of its dtype and shape, and a valid reduction."""
    x = check.float_array(function, first, x)
    target = check.float_array(function, "target", target)
    check.same_dtype(function, "target", target, x.dtype)
    check.shape_is(function, "target", target, x.shape)
    return x, target, _reduction(function, reduction)


def _elementwise_grad(function: str, dloss, cache: ElementwiseLossCache) -> np.ndarray:
    residual, reduction = cache
    return _upstream(function, dloss, reduction, residual.shape, residual.size, residual.dtype) * residual


def mse_loss_forward(input, target, reduction="mean"):
    """Squared error ``(input - target) ** 2`` per element, arrays of any (equal) shape."""
    input, target, reduction = _paired_arrays("mse_loss_forward", "input", input, target, reduction)
    diff = input - target
    return _reduce(diff * diff, reduction, diff.size, diff.dtype), ElementwiseLossCache(diff, reduction)


def mse_loss_backward(dloss, cache: ElementwiseLossCache):
    """``2 (input - target)`` per element for the input, its negative for the target."""
    dinput = 2 * _elementwise_grad("mse_loss_backward", dloss, cache)
    return dinput, -dinput


def binary_cross_entropy_with_logits_forward(logits, target, reduction="mean"):
    """``-(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))`` per element, for targets in [0, 1].

    Written as ``max(x, 0) - x t + log1p(exp(-|x|))``: the same value, but exp() never
    overflows and log() never sees 0, so logits of 1e4 give exact, finite losses."""
    logits, target, reduction = _paired_arrays("binary_cross_entropy_with_logits_forward", "logits", logits, target, reduction)
    per_element = np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))
    loss = _reduce(per_element, reduction, logits.size, logits.dtype)
    return loss, ElementwiseLossCache(stable_sigmoid(logits) - target, reduction)


def binary_cross_entropy_with_logits_backward(dloss, cache: ElementwiseLossCache):
    """``sigmoid(x) - t`` per element: the log-sigmoid terms cancel to this simple residual."""
    return _elementwise_grad("binary_cross_entropy_with_logits_backward", dloss, cache)
