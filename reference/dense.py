"""Linear layers, embeddings and dropout, forward and backward."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validation as check

# ------------------------------------------------------------------------------ linear


class LinearCache(NamedTuple):
    # The forward's own arrays, not copies (copying the weight would cost a quarter of a
    # 256x1024x1024 forward): as with PyTorch's saved tensors, they must not be changed in
    # place between the forward and the backward (PyTorch raises; here the gradients would
    # silently follow the new values).
    x: np.ndarray
    weight: np.ndarray
    has_bias: bool


def linear_forward(x, weight, bias=None):
    """``x @ weight.T + bias`` for ``x`` of shape ``(..., in_features)`` and ``weight`` of
    shape ``(out_features, in_features)``. Returns ``(out, cache)``."""
    function = "linear_forward"
    x = check.float_array(function, "x", x)
    weight = check.float_array(function, "weight", weight, ndim=2)
    check.same_dtype(function, "weight", weight, x.dtype)
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise check.invalid(function, "x", f"must have in_features = weight.shape[1] = {weight.shape[1]} as its last axis; got shape {x.shape}")
    if bias is not None:
        bias = check.float_array(function, "bias", bias, ndim=1)
        check.same_dtype(function, "bias", bias, x.dtype)
        check.shape_is(function, "bias", bias, (weight.shape[0],))
    out = x @ weight.T  # weight.T is a view: BLAS reads it transposed, no copy
    if bias is not None:
        out += bias  # in place: out is ours, and a second output-sized array costs ~5%
    return out, LinearCache(x, weight, bias is not None)


def linear_backward(dout, cache: LinearCache):
    """``(dx, dweight, dbias)``: the leading axes of ``x`` all act as the batch, so the
    parameter gradients sum over every one of them."""
    dout = check.float_array("linear_backward", "dout", dout)
    x, weight, has_bias = cache
    rows = dout.reshape(-1, dout.shape[-1])
    dx = dout @ weight
    dweight = rows.T @ x.reshape(-1, x.shape[-1])
    dbias = rows.sum(axis=0) if has_bias else None
    return dx, dweight, dbias


# --------------------------------------------------------------------------- embedding


class EmbeddingCache(NamedTuple):
    indices: np.ndarray
    num_embeddings: int
    padding_idx: int | None
    dtype: np.dtype


def embedding_forward(indices, weight, padding_idx=None):
    """Rows of ``weight`` (num_embeddings, dim) picked by an integer array of any shape.

    ``padding_idx`` (negative counts from the end, as in PyTorch) is looked up like any
    row but never receives a gradient. Returns ``(out, cache)`` with ``out`` of shape
    ``indices.shape + (dim,)``.
    """
    function = "embedding_forward"
    if not isinstance(indices, np.ndarray) or not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"{function}: argument 'indices' must be an integer numpy.ndarray; got {getattr(indices, 'dtype', type(indices).__name__)}")
    weight = check.float_array(function, "weight", weight, ndim=2)
    count = weight.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= count):
        bad = indices[(indices < 0) | (indices >= count)].flat[0]
        raise check.invalid(function, "indices", f"must lie in [0, {count}) for a weight of {count} rows; got {bad}")
    if padding_idx is not None:
        if not check.is_int(padding_idx):
            raise TypeError(f"{function}: argument 'padding_idx' must be an int or None; got {padding_idx!r}")
        if not -count <= padding_idx < count:
            raise check.invalid(function, "padding_idx", f"must lie in [{-count}, {count}); got {padding_idx}")
        padding_idx = padding_idx % count
    return weight[indices], EmbeddingCache(indices.copy(), count, padding_idx, weight.dtype)


def embedding_backward(dout, cache: EmbeddingCache):
    """``dweight``: each row sums the gradients of every position that looked it up.

    Repeated indices must accumulate, so the scatter is ``np.add.at`` (unbuffered);
    ``dweight[indices] += dout`` would keep only one of the repeats.
    """
    dout = check.float_array("embedding_backward", "dout", dout)
    indices, count, padding_idx, dtype = cache
    dweight = np.zeros((count, dout.shape[-1]), dtype=dtype)
    np.add.at(dweight, indices.reshape(-1), dout.reshape(-1, dout.shape[-1]))
    if padding_idx is not None:
        dweight[padding_idx] = 0
    return dweight


# ----------------------------------------------------------------------------- dropout


class DropoutCache(NamedTuple):
    scaled_mask: np.ndarray | None  # mask / (1 - p) in the input's dtype; None when not training


def dropout_forward(x, p=0.5, training=True, mask=None):
    """Inverted dropout: kept units scale by ``1 / (1 - p)`` so that eval needs no change.

    ``mask`` is a bool array of kept units (True = kept) of ``x``'s shape; when None it is
    drawn from NumPy's global generator (``np.random.seed`` makes it reproducible), each
    unit kept with probability ``1 - p``. With ``p = 1`` every unit is dropped (output 0).
    Outside training the layer is the identity and ``mask`` is ignored.
    """
    function = "dropout_forward"
    x = check.float_array(function, "x", x)
    if not isinstance(p, (int, float, np.floating)) or isinstance(p, bool):
        raise TypeError(f"{function}: argument 'p' must be a float; got {p!r}")
    if not 0 <= p <= 1:
        raise check.invalid(function, "p", f"must be in [0, 1]; got {p}")
    training = check.boolean(function, "training", training)
    if not training:
        return x.copy(), DropoutCache(None)
    if mask is None:
        # The legacy global generator on purpose: np.random.seed(...) (as in course notebooks) reproduces it.
        mask = np.random.random_sample(x.shape) >= p  # noqa: NPY002
    elif not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        raise TypeError(f"{function}: argument 'mask' must be a bool numpy.ndarray; got {getattr(mask, 'dtype', type(mask).__name__)}")
    check.shape_is(function, "mask", mask, x.shape)
    # p == 1 drops everything; 1 / (1 - p) would divide by zero.
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    scaled_mask = (mask * scale).astype(x.dtype)
    return x * scaled_mask, DropoutCache(scaled_mask)


def dropout_backward(dout, cache: DropoutCache):
    dout = check.float_array("dropout_backward", "dout", dout)
    return dout.copy() if cache.scaled_mask is None else dout * cache.scaled_mask
