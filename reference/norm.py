"""Batch, layer and group normalisation, forward and backward.

All three layers standardise ``x`` over some axes, ``xhat = (x - mean) / sqrt(var + eps)``
with the *biased* variance, then scale and shift it: ``out = weight * xhat + bias``. Only
the axes differ: batch norm pools every axis but the channel axis 1 (one mean per channel),
layer norm the trailing ``normalized_shape`` axes (one mean per sample), group norm each
sample's channels in ``num_groups`` consecutive groups with their spatial axes (one mean per
sample and group; ``x`` seen as ``(N, num_groups, -1)``), weight and bias still per channel.

When the statistics come from ``x`` itself, the backward pass is the compact formula

    dx = inv_std / n * (n * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))

with ``dxhat = dout * weight`` and the sums over the ``n`` normalised values: the second
term is the gradient through the mean, the third the gradient through the variance. Batch
norm in eval mode uses its running statistics instead, constants: ``dx = dxhat * inv_std``.

Precision. The variance takes two passes (subtract the mean, then square), so a channel
whose values barely differ keeps its digits instead of cancelling them in
``E[x^2] - E[x]^2``.

Batch norm's forward works in the input's dtype (float32 in, float32 arithmetic), with
float64 wherever float32 would lose digits:

* the mean is a float64-accumulated sum (a float32 sum's error would shift every centred
  value of the channel, and be magnified by ``inv_std``);
* ``x - mean`` uses the mean rounded to x's dtype: exact up to that one rounding, which is
  the same for a whole channel and is undone for free (``offset`` in
  ``batch_norm_forward``: folded into the shift of the output and into the backward's xhat);
* the squares are summed by ``np.einsum`` without being stored; its float32 dot products
  keep many partial sums (relative error ~2e-7 against float64 over 16x32x32 values per
  channel, and a variance error of d moves xhat by only d / 2);
* ``inv_std``, the mean and the variance stay float64.

Measured against float64 on (16, 64, 32, 32), (64, 16), (8, 4, 30) and smaller inputs,
normal, near-constant (a constant plus 1e-4 noise) and offset (100 + noise): the float32
output is within 3 float32 ulps of its largest value (PyTorch's float32 kernel: up to 270
on near-constant channels). The previous formulation, the whole input converted to float64,
was 3.7x slower single-threaded: a copy twice the input's size, then every elementwise pass
over twice the bytes.

With running statistics (eval mode) there is nothing to sum: ``out = (x - running_mean) *
(weight * inv_std) + bias``, three passes in x's dtype.

Batch norm's backward, and layer and group norm (whose inputs are small in practice), run
in float64 and cast back: the backward's ``n * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)``
cancels, and float64 keeps that cancellation exact to float32's precision.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from . import _validation as check

BATCH_FORWARD = "batch_norm_forward"
LAYER_FORWARD = "layer_norm_forward"
GROUP_FORWARD = "group_norm_forward"


def _real(function: str, name: str, value) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{function}: argument '{name}' must be a real number; got {value!r}")
    return float(value)


def _eps(function: str, eps) -> float:
    if not _real(function, "eps", eps) > 0:  # also rejects NaN
        raise check.invalid(function, "eps", f"must be greater than 0; got {eps!r}")
    return float(eps)


def _both_or_neither(function: str, names: tuple[str, str], values: tuple, meaning: str) -> None:
    if (values[0] is None) != (values[1] is None):
        missing, given = names if values[0] is None else names[::-1]
        raise check.invalid(function, missing, f"is None but '{given}' is not: pass both ({meaning}) or neither")


def _param(function: str, name: str, value, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    value = check.float_array(function, name, value, ndim=len(shape))
    check.same_dtype(function, name, value, x.dtype)
    check.shape_is(function, name, value, shape)
    return value


def _standardise(x: np.ndarray, axes: tuple[int, ...], count: int, eps: float):
    """``(xhat, inv_std, mean, var)`` of ``x`` over ``axes``: ``xhat`` in ``x``'s dtype, the
    statistics float64, keeping their dims (see the module docstring for the precision)."""
    mean = x.sum(axis=axes, keepdims=True, dtype=np.float64) / count
    centered = x - mean.astype(x.dtype)  # a new array: the in-place steps below are private
    # Sum of squares without materialising them: einsum multiplies and sums in one pass.
    subscripts = list(range(x.ndim))
    kept = [axis for axis in subscripts if axis not in axes]
    squares = np.einsum(centered, subscripts, centered, subscripts, kept)
    var = squares.astype(np.float64).reshape(mean.shape) / count
    inv_std = 1.0 / np.sqrt(var + eps)
    centered *= inv_std.astype(x.dtype)
    return centered, inv_std, mean, var


def _through_statistics(dxhat: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray, axes: tuple[int, ...], count: int) -> np.ndarray:
    """``dx`` when the mean and variance were computed from ``x`` (see the module docstring)."""
    mean_term = dxhat.sum(axis=axes, keepdims=True)
    var_term = (dxhat * xhat).sum(axis=axes, keepdims=True)
    return inv_std / count * (count * dxhat - mean_term - xhat * var_term)


# --------------------------------------------------------------------------- batch norm


class BatchNormCache(NamedTuple):
    # xhat = (saved - xhat_center) * xhat_scale (float64, in the backward). With batch statistics
    # saved is xhat itself (x's dtype), up to a per-channel shift: _standardise centres x on
    # the mean rounded to x's dtype. With running statistics saved is x (the forward's own
    # array, not a copy: it must not change before the backward), xhat is never formed.
    saved: np.ndarray
    xhat_center: np.ndarray  # float64, (1, C, 1, ...)
    xhat_scale: np.ndarray | float  # float64, (1, C, 1, ...), or 1.0
    inv_std: np.ndarray  # float64, (1, C, 1, ...): broadcasts against x
    weight: np.ndarray | None  # float64 private copy, (1, C, 1, ...)
    has_bias: bool
    batch_stats: bool  # normalised with x's own statistics, so dx flows through them
    dtype: np.dtype


def _channel_axes(ndim: int) -> tuple[int, ...]:
    return (0, *range(2, ndim))


# The buffers of a batch norm in a PyTorch state_dict (``bn1.running_mean``, ...): the
# running statistics, updated in place in training, and the batch counter, which a
# state_dict holds and the API accepts and ignores (SPEC v2).
BATCH_NORM_STATISTICS = ("running_mean", "running_var")
BATCH_COUNTER = "num_batches_tracked"
BATCH_NORM_BUFFERS = (*BATCH_NORM_STATISTICS, BATCH_COUNTER)


def batch_norm_forward(x, weight, bias, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of ``x`` (N, C), (N, C, L) or (N, C, H, W); returns ``(out, cache)``.

    ``weight``/``bias`` None means affine=False; ``running_mean``/``running_var`` None means
    track_running_stats=False, so batch statistics are used even when ``training`` is False.
    With running statistics, training updates them in place with the unbiased batch
    variance, ``running = (1 - momentum) * running + momentum * batch``; eval mode
    normalises with them and leaves them alone.
    """
    x = check.float_array(BATCH_FORWARD, "x", x)
    if x.ndim not in (2, 3, 4):
        raise check.invalid(BATCH_FORWARD, "x", f"must be 2-D (N, C), 3-D (N, C, L) or 4-D (N, C, H, W); got shape {x.shape}")
    _both_or_neither(BATCH_FORWARD, ("weight", "bias"), (weight, bias), "affine=True")
    _both_or_neither(BATCH_FORWARD, ("running_mean", "running_var"), (running_mean, running_var), "track_running_stats=True")
    channels = x.shape[1]
    params = {"weight": weight, "bias": bias, "running_mean": running_mean, "running_var": running_var}
    for name, value in params.items():
        if value is not None:
            _param(BATCH_FORWARD, name, value, x, (channels,))
    training = check.boolean(BATCH_FORWARD, "training", training)
    if not 0 <= _real(BATCH_FORWARD, "momentum", momentum) <= 1:
        raise check.invalid(BATCH_FORWARD, "momentum", f"must be in [0, 1]; got {momentum!r}")
    momentum = float(momentum)
    eps = _eps(BATCH_FORWARD, eps)

    axes = _channel_axes(x.ndim)
    per_channel = (1, channels) + (1,) * (x.ndim - 2)
    count = math.prod(x.shape[a] for a in axes)
    batch_stats = training or running_mean is None
    scale = None if weight is None else weight.astype(np.float64).reshape(per_channel)
    shift = np.zeros(per_channel) if bias is None else bias.astype(np.float64).reshape(per_channel)
    if not batch_stats:
        # Running statistics are constants: out = (x - running_mean) * (weight * inv_std) + bias,
        # three passes over x and one new array; the backward rebuilds xhat from x.
        with np.errstate(divide="ignore", invalid="ignore"):  # running_var <= -eps gives inf/NaN, as in PyTorch
            inv_std = 1.0 / np.sqrt(running_var.astype(np.float64).reshape(per_channel) + eps)
        mean = running_mean.astype(np.float64).reshape(per_channel)
        out = x - running_mean.reshape(per_channel)
        out *= (inv_std if scale is None else scale * inv_std).astype(x.dtype)
        if bias is not None:
            out += bias.reshape(per_channel)
        return out, BatchNormCache(x, mean, inv_std, inv_std, scale, bias is not None, False, x.dtype)

    if count <= 1:
        raise check.invalid(BATCH_FORWARD, "x", f"must have more than 1 value per channel to use batch statistics; got shape {x.shape}")
    xhat, inv_std, mean, var = _standardise(x, axes, count, eps)
    if training and running_mean is not None:
        unbiased = var.reshape(channels) * (count / (count - 1))
        running_mean[...] = (1 - momentum) * running_mean.astype(np.float64) + momentum * mean.reshape(channels)
        running_var[...] = (1 - momentum) * running_var.astype(np.float64) + momentum * unbiased
    # _standardise centres x on the mean rounded to x's dtype (one float32 pass), so its
    # xhat is off by (mean - rounded mean) * inv_std, the same for a whole channel: tiny, but
    # magnified by inv_std when a channel's values barely differ. The fix costs no extra
    # pass: the forward folds it into the shift, the backward into its float64 xhat.
    offset = (mean - mean.astype(x.dtype)) * inv_std
    # out = weight * (xhat - offset) + bias = weight * xhat + shift, a new array either way
    # (xhat stays private to the cache).
    shift -= offset if scale is None else scale * offset
    if scale is None:
        out = xhat + shift.astype(x.dtype)
    else:
        out = xhat * weight.reshape(per_channel)
        out += shift.astype(x.dtype)
    return out, BatchNormCache(xhat, offset, 1.0, inv_std, scale, bias is not None, True, x.dtype)


def batch_norm_backward(dout, cache: BatchNormCache):
    """Gradients ``(dx, dweight, dbias)``; ``dweight``/``dbias`` are None without affine parameters."""
    dout = check.float_array("batch_norm_backward", "dout", dout)
    saved, xhat_center, xhat_scale, inv_std, weight, has_bias, batch_stats, dtype = cache
    check.shape_is("batch_norm_backward", "dout", dout, saved.shape)
    axes = _channel_axes(saved.ndim)
    grad = dout.astype(np.float64, copy=False)
    xhat = (saved.astype(np.float64) - xhat_center) * xhat_scale
    dxhat = grad if weight is None else grad * weight
    if batch_stats:
        dx = _through_statistics(dxhat, xhat, inv_std, axes, math.prod(xhat.shape[a] for a in axes))
    else:
        dx = dxhat * inv_std
    dweight = None if weight is None else (grad * xhat).sum(axis=axes).astype(dtype)
    dbias = grad.sum(axis=axes).astype(dtype) if has_bias else None
    return dx.astype(dtype, copy=False), dweight, dbias


# --------------------------------------------------------------------------- layer norm


class LayerNormCache(NamedTuple):
    xhat: np.ndarray  # float64, x's shape
    inv_std: np.ndarray  # float64, (..., 1, ..., 1): one per normalised slice
    weight: np.ndarray | None  # float64 private copy, normalized_shape
    has_bias: bool
    normalized_ndim: int
    dtype: np.dtype


def _normalized_shape(x: np.ndarray, normalized_shape) -> tuple[int, ...]:
    shape = (normalized_shape,) if check.is_int(normalized_shape) else normalized_shape
    if not (isinstance(shape, (tuple, list)) and all(check.is_int(size) for size in shape)):
        raise TypeError(f"{LAYER_FORWARD}: argument 'normalized_shape' must be an int or a sequence of ints; got {normalized_shape!r}")
    shape = tuple(int(size) for size in shape)
    if not shape or shape != x.shape[x.ndim - len(shape) :]:
        raise check.invalid(
            LAYER_FORWARD, "normalized_shape",
            f"must be non-empty and equal the last dims of x, of shape {x.shape}; got {normalized_shape!r}",
        )
    return shape


def layer_norm_forward(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise ``x`` over its trailing ``normalized_shape`` dims; returns ``(out, cache)``.

    ``weight`` and ``bias`` are each None or of shape ``normalized_shape``, as in
    ``torch.nn.functional.layer_norm``.
    """
    x = check.float_array(LAYER_FORWARD, "x", x)
    shape = _normalized_shape(x, normalized_shape)
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None:
            _param(LAYER_FORWARD, name, value, x, shape)
    eps = _eps(LAYER_FORWARD, eps)

    axes = tuple(range(x.ndim - len(shape), x.ndim))
    count = max(math.prod(shape), 1)  # an empty slice has nothing to normalise; 1 avoids 0 / 0
    xhat, inv_std, _, _ = _standardise(x.astype(np.float64, copy=False), axes, count, eps)
    scale = None if weight is None else weight.astype(np.float64)
    out = xhat if scale is None else xhat * scale
    if bias is not None:
        out = out + bias
    # astype copies: `out` may be `xhat`, which stays private to the cache.
    return out.astype(x.dtype), LayerNormCache(xhat, inv_std, scale, bias is not None, len(shape), x.dtype)


def layer_norm_backward(dout, cache: LayerNormCache):
    """Gradients ``(dx, dweight, dbias)``; ``dweight``/``dbias`` are None where the forward had none."""
    dout = check.float_array("layer_norm_backward", "dout", dout)
    xhat, inv_std, weight, has_bias, normalized_ndim, dtype = cache
    check.shape_is("layer_norm_backward", "dout", dout, xhat.shape)
    leading = tuple(range(xhat.ndim - normalized_ndim))
    axes = tuple(range(xhat.ndim - normalized_ndim, xhat.ndim))
    grad = dout.astype(np.float64, copy=False)
    dxhat = grad if weight is None else grad * weight
    dx = _through_statistics(dxhat, xhat, inv_std, axes, max(math.prod(xhat.shape[a] for a in axes), 1))
    dweight = None if weight is None else (grad * xhat).sum(axis=leading).astype(dtype)
    dbias = grad.sum(axis=leading).astype(dtype) if has_bias else None
    return dx.astype(dtype, copy=False), dweight, dbias


# --------------------------------------------------------------------------- group norm


class GroupNormCache(NamedTuple):
    xhat: np.ndarray  # float64, (N, num_groups, C // num_groups * spatial): one row per sample and group
    inv_std: np.ndarray  # float64, (N, num_groups, 1)
    weight: np.ndarray | None  # float64 private copy, (1, C, 1, ...): broadcasts against x
    has_bias: bool
    shape: tuple[int, ...]  # x's shape
    dtype: np.dtype


def group_norm_forward(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each sample of ``x`` (N, C, *) over groups of ``C // num_groups`` channels;
    returns ``(out, cache)``.

    The statistics of a group pool its channels and every spatial position, as in
    ``torch.nn.functional.group_norm``; ``weight`` and ``bias`` are each None or of shape
    (C,) and apply per channel. A group must hold more than one value: its one value would
    normalise to 0 whatever it is.
    """
    x = check.float_array(GROUP_FORWARD, "x", x)
    if x.ndim < 2:
        raise check.invalid(GROUP_FORWARD, "x", f"must have at least 2 dims (N, C, *); got shape {x.shape}")
    groups = check.positive_int(GROUP_FORWARD, "num_groups", num_groups)
    batch, channels = x.shape[:2]
    if channels % groups:
        raise check.invalid(GROUP_FORWARD, "num_groups", f"must divide the {channels} channels of x, of shape {x.shape}; got {num_groups!r}")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None:
            _param(GROUP_FORWARD, name, value, x, (channels,))
    eps = _eps(GROUP_FORWARD, eps)
    count = channels // groups * math.prod(x.shape[2:])  # values per group
    if count == 1:
        raise check.invalid(
            GROUP_FORWARD, "x", f"must have more than 1 value per group; got shape {x.shape} with num_groups={groups}",
        )

    rows = x.astype(np.float64, copy=False).reshape(batch, groups, count)  # read only: never written to
    xhat, inv_std, _, _ = _standardise(rows, (2,), max(count, 1), eps)  # an empty group has nothing to normalise
    per_channel = (1, channels) + (1,) * (x.ndim - 2)
    scale = None if weight is None else weight.astype(np.float64).reshape(per_channel)
    out = xhat.reshape(x.shape)
    if scale is not None:
        out = out * scale
    if bias is not None:
        out = out + bias.reshape(per_channel)
    # astype copies: `out` may be a view of `xhat`, which stays private to the cache.
    return out.astype(x.dtype), GroupNormCache(xhat, inv_std, scale, bias is not None, x.shape, x.dtype)


def group_norm_backward(dout, cache: GroupNormCache):
    """Gradients ``(dx, dweight, dbias)``; ``dweight``/``dbias`` are None where the forward had none."""
    dout = check.float_array("group_norm_backward", "dout", dout)
    xhat, inv_std, weight, has_bias, shape, dtype = cache
    check.shape_is("group_norm_backward", "dout", dout, shape)
    axes = _channel_axes(len(shape))  # a channel's values: the batch and the spatial axes
    grad = dout.astype(np.float64, copy=False)
    dxhat = grad if weight is None else grad * weight
    dx = _through_statistics(dxhat.reshape(xhat.shape), xhat, inv_std, (2,), max(xhat.shape[2], 1)).reshape(shape)
    dweight = None if weight is None else (grad * xhat.reshape(shape)).sum(axis=axes).astype(dtype)
    dbias = grad.sum(axis=axes).astype(dtype) if has_bias else None
    return dx.astype(dtype, copy=False), dweight, dbias
