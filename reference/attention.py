"""Scaled dot-product attention and multi-head attention, forward and backward.

Attention of queries ``q`` (L of them) over keys ``k`` and values ``v`` (S of each)::

    scores  = q @ k^T * scale + mask          (L, S); scale defaults to 1 / sqrt(E)
    weights = softmax(scores) along the keys   each row sums to 1
    out     = weights @ v                      (L, Ev)

A mask is additive: a boolean mask becomes 0 where a key takes part and -inf where it
does not, a float mask is added as it is. A row whose every key is -inf has no softmax
(0 / 0); PyTorch 2.x's ``F.scaled_dot_product_attention`` returns zeros there, with zero
gradients, and so does this module. ``nn.MultiheadAttention`` does the same with
``need_weights=False`` (it calls ``F.scaled_dot_product_attention``) but returns NaN for
those rows, in ``out`` and in ``weights``, with ``need_weights=True`` (an explicit
softmax): the reference follows both.

The backward pass goes through the softmax with its Jacobian-vector product
``dscores = weights * (dweights - sum(dweights * weights))`` along the keys; the matrix
products' gradients are the other two products transposed.

Everything runs in float64 and the outputs are cast back to the input's dtype: the
inputs are small in practice, and float64 keeps the reference exact to float32's
precision (PyTorch's own float32 kernels are what the float32 check measures).
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from . import _validation as check

SDPA_FORWARD = "scaled_dot_product_attention_forward"
MHA_FORWARD = "multi_head_attention_forward"
MHA_KEYS = ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")

# ------------------------------------------------------------------------------ helpers


def masked_softmax(scores: np.ndarray, *, in_place: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Softmax along the last axis of ``scores``, which may hold -inf (masked keys).

    Returns ``(weights, empty)``: ``empty`` marks the rows whose every score is -inf (or
    that have no keys at all); their weights are 0, as PyTorch's ``_safe_softmax`` gives.
    Subtracting the row's maximum first keeps scores up to 1e300 from overflowing.
    ``in_place``: the weights are computed in ``scores`` itself (a caller's temporary: the
    scores are the largest array of attention, and each pass over a fresh copy costs).
    """
    row_max = scores.max(axis=-1, keepdims=True, initial=-np.inf)
    empty = row_max == -np.inf
    weights = scores if in_place else scores.copy()
    weights -= np.where(empty, 0.0, row_max)  # an empty row stays -inf: exp gives 0, without a warning
    np.exp(weights, out=weights)
    total = weights.sum(axis=-1, keepdims=True)
    total[empty] = 1.0  # 0 / 1: the empty rows' weights stay 0
    weights /= total
    return weights, empty


def softmax_backward_rows(dweights: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``dscores`` from ``dweights`` through the softmax along the last axis (rows of zero
    weights, the fully masked ones, get zero)."""
    return weights * (dweights - (dweights * weights).sum(axis=-1, keepdims=True))


def sum_to_shape(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``grad`` summed over the axes along which an argument of ``shape`` was broadcast."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, side in enumerate(shape) if side == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes).reshape(shape) if axes else grad


def additive_mask(function: str, name: str, mask, *, true_means: str) -> np.ndarray:
    """A boolean or float mask as float64 to add to the scores. ``true_means`` says which
    boolean value excludes a key: ``'allowed'`` (F.scaled_dot_product_attention: True takes
    part) or ``'masked'`` (nn.MultiheadAttention: True is left out)."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{function}: argument '{name}' must be a numpy.ndarray or None; got {type(mask).__name__}")
    if mask.dtype == np.bool_:
        excluded = ~mask if true_means == "allowed" else mask
        return np.where(excluded, -np.inf, 0.0)
    if mask.dtype not in check.FLOAT_DTYPES:
        raise TypeError(f"{function}: argument '{name}' must be a bool or float mask; got dtype {mask.dtype}")
    return mask.astype(np.float64)


def _real(function: str, name: str, value) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{function}: argument '{name}' must be a float or None; got {value!r}")
    if not math.isfinite(value):
        raise check.invalid(function, name, f"must be finite; got {value!r}")
    return float(value)


def _leading_shape(function: str, query: np.ndarray, key: np.ndarray, value: np.ndarray) -> tuple[int, ...]:
    """The broadcast of the three arguments' leading (batch) shapes, as PyTorch's matmul does."""
    try:
        shape = np.broadcast_shapes(query.shape[:-2], key.shape[:-2])
    except ValueError:
        raise check.invalid(function, "key", f"must have leading axes that broadcast with the query's {query.shape[:-2]}; got {key.shape[:-2]}") from None
    try:
        return np.broadcast_shapes(shape, value.shape[:-2])
    except ValueError:
        raise check.invalid(function, "value", f"must have leading axes that broadcast with {shape}; got {value.shape[:-2]}") from None


# ----------------------------------------------------------- scaled dot-product attention


class AttentionCache(NamedTuple):
    query: np.ndarray  # float64, as given (not broadcast)
    key: np.ndarray
    value: np.ndarray
    weights: np.ndarray  # (*batch, L, S) float64 softmax weights, 0 in fully masked rows
    scale: float
    out_shape: tuple[int, ...]
    dtype: np.dtype


def attend(query: np.ndarray, key: np.ndarray, value: np.ndarray, mask: np.ndarray | None, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """``(out, weights)`` of attention in float64; ``mask`` is additive (or None)."""
    scores = query @ np.swapaxes(key, -1, -2)
    scores *= scale
    if mask is not None and np.broadcast_shapes(scores.shape, mask.shape) == scores.shape:
        scores += mask
    elif mask is not None:  # the mask has leading axes the query and key lack (the value's)
        scores = scores + mask
    weights, _ = masked_softmax(scores, in_place=True)
    return weights @ value, weights


def attend_backward(dout: np.ndarray, cache: AttentionCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dquery, dkey, dvalue)`` in float64, each summed back to its argument's shape."""
    query, key, value, weights, scale, _, _ = cache
    dweights = dout @ np.swapaxes(value, -1, -2)
    dvalue = np.swapaxes(weights, -1, -2) @ dout
    dscores = softmax_backward_rows(dweights, weights) * scale
    dquery = dscores @ key
    dkey = np.swapaxes(dscores, -1, -2) @ query
    return sum_to_shape(dquery, query.shape), sum_to_shape(dkey, key.shape), sum_to_shape(dvalue, value.shape)


def scaled_dot_product_attention_forward(query, key, value, attn_mask=None, is_causal=False, scale=None):
    """``softmax(query @ key^T * scale + mask) @ value``, as ``F.scaled_dot_product_attention``
    with ``dropout_p=0``. Returns ``(out, cache)``.

    ``query`` is ``(..., L, E)``, ``key`` ``(..., S, E)``, ``value`` ``(..., S, Ev)``; their
    leading axes broadcast against each other (as PyTorch's do), and ``out`` is
    ``(..., L, Ev)``. ``attn_mask`` is None, boolean (True: the key takes part) or float
    (added to the scores), broadcastable to ``(..., L, S)``. ``is_causal`` lets query i see
    keys 0..i (a lower-triangular mask aligned at the top left, also when L != S); it
    cannot be combined with ``attn_mask``. ``scale`` defaults to ``1 / sqrt(E)``. A query
    whose every key is masked out gets a zero output (and zero gradients).
    """
    function = SDPA_FORWARD
    arrays = {}
    for name, array in (("query", query), ("key", key), ("value", value)):
        array = check.float_array(function, name, array)
        if array.ndim < 2:
            raise check.invalid(function, name, f"must have at least 2 axes (..., sequence, features); got shape {array.shape}")
        if name != "query":
            check.same_dtype(function, name, array, arrays["query"].dtype)
        arrays[name] = array
    query, key, value = arrays["query"], arrays["key"], arrays["value"]
    if key.shape[-1] != query.shape[-1]:
        raise check.invalid(function, "key", f"must have the query's E = {query.shape[-1]} features; got shape {key.shape}")
    if value.shape[-2] != key.shape[-2]:
        raise check.invalid(function, "value", f"must have as many positions as the key, S = {key.shape[-2]}; got shape {value.shape}")
    batch = _leading_shape(function, query, key, value)
    is_causal = check.boolean(function, "is_causal", is_causal)
    if scale is None:  # E = 0 (PyTorch allows it) has all scores 0, whatever the scale
        scale = 1 / math.sqrt(query.shape[-1]) if query.shape[-1] else 1.0
    else:
        scale = _real(function, "scale", scale)
    length, source = query.shape[-2], key.shape[-2]
    mask = None
    if attn_mask is not None:
        if is_causal:
            raise check.invalid(function, "attn_mask", "must be None when is_causal=True (PyTorch raises too); got a mask")
        mask = additive_mask(function, "attn_mask", attn_mask, true_means="allowed")
        scores_shape = (*batch, length, source)
        try:
            broadcast = np.broadcast_shapes(mask.shape, scores_shape)
        except ValueError:
            broadcast = None
        if broadcast != scores_shape:
            raise check.invalid(function, "attn_mask", f"must broadcast to the scores' shape {scores_shape}; got shape {attn_mask.shape}")
    elif is_causal:
        mask = np.where(np.tri(length, source, dtype=bool), 0.0, -np.inf)

    query64, key64, value64 = (array.astype(np.float64, copy=False) for array in (query, key, value))
    out, weights = attend(query64, key64, value64, mask, scale)
    return out.astype(query.dtype), AttentionCache(query64, key64, value64, weights, scale, out.shape, query.dtype)


def scaled_dot_product_attention_backward(dout, cache: AttentionCache):
    """``(dquery, dkey, dvalue)``; arguments broadcast in the forward get their gradients summed."""
    dout = check.float_array("scaled_dot_product_attention_backward", "dout", dout)
    check.shape_is("scaled_dot_product_attention_backward", "dout", dout, cache.out_shape)
    grads = attend_backward(dout.astype(np.float64, copy=False), cache)
    return tuple(grad.astype(cache.dtype) for grad in grads)


# ----------------------------------------------------------------- multi-head attention


class MultiHeadCache(NamedTuple):
    query: np.ndarray  # (L, N, E) float64
    key: np.ndarray  # (S, N, E)
    value: np.ndarray  # (S, N, E)
    params: dict  # float64
    heads: tuple[np.ndarray, np.ndarray, np.ndarray]  # projected q, k, v: (N, H, L or S, E / H)
    weights: np.ndarray  # (N, H, L, S); NaN in fully masked rows with need_weights
    attended: np.ndarray  # (L, N, E): the heads' outputs side by side, before out_proj
    need_weights: bool
    dtype: np.dtype  # of the caller's arrays


def split_heads(x: np.ndarray, num_heads: int) -> np.ndarray:
    """``(T, N, E)`` -> ``(N, H, T, E / H)``: head h holds features h * E/H .. (h + 1) * E/H - 1."""
    steps, batch, features = x.shape
    return x.reshape(steps, batch, num_heads, features // num_heads).transpose(1, 2, 0, 3)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """``(N, H, T, E / H)`` -> ``(T, N, E)``, the inverse of ``split_heads``."""
    batch, num_heads, steps, head_dim = x.shape
    return x.transpose(2, 0, 1, 3).reshape(steps, batch, num_heads * head_dim)


def multi_head_forward(query, key, value, params: dict, num_heads: int, mask: np.ndarray | None, need_weights: bool):
    """The computation of ``multi_head_attention_forward`` on validated float64 arrays;
    ``mask`` is additive, broadcastable to ``(N, H, L, S)``. Returns ``(out, weights, cache)``
    in float64 (``weights`` None without ``need_weights``)."""
    embed = query.shape[-1]
    w_q, w_k, w_v = np.split(params["in_proj_weight"], 3)
    b_q, b_k, b_v = np.split(params["in_proj_bias"], 3)
    q, k, v = (split_heads(x @ w.T + b, num_heads) for x, w, b in ((query, w_q, b_q), (key, w_k, b_k), (value, w_v, b_v)))
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(embed // num_heads)
    if mask is not None:
        scores = scores + mask
    weights, empty = masked_softmax(scores, in_place=True)
    if need_weights:  # nn.MultiheadAttention's explicit softmax: 0 / 0 in a fully masked row
        weights = np.where(empty, np.nan, weights)
    attended = merge_heads(weights @ v)
    out = attended @ params["out_proj.weight"].T + params["out_proj.bias"]
    averaged = weights.mean(axis=1) if need_weights else None
    return out, averaged, MultiHeadCache(query, key, value, params, (q, k, v), weights, attended, need_weights, query.dtype)


def multi_head_backward(dout: np.ndarray, dweights: np.ndarray | None, cache: MultiHeadCache):
    """``(dquery, dkey, dvalue, dparams)`` in float64."""
    query, key, value, params, (q, k, v), weights, attended, _, _ = cache
    num_heads, embed = q.shape[1], query.shape[-1]
    rows = dout.reshape(-1, embed)
    dparams = {"out_proj.weight": rows.T @ attended.reshape(-1, embed), "out_proj.bias": rows.sum(axis=0)}
    dattended = split_heads(dout @ params["out_proj.weight"], num_heads)
    dweights_heads = dattended @ np.swapaxes(v, -1, -2)
    if dweights is not None:  # the average over heads hands each head 1 / H of it
        dweights_heads = dweights_heads + dweights[:, None] / num_heads
    dv = np.swapaxes(weights, -1, -2) @ dattended
    dscores = softmax_backward_rows(dweights_heads, weights) / math.sqrt(embed // num_heads)
    dq = dscores @ k
    dk = np.swapaxes(dscores, -1, -2) @ q
    w_q, w_k, w_v = np.split(params["in_proj_weight"], 3)
    grads, dweight_rows, dbias_rows = [], [], []
    for x, w, dhead in ((query, w_q, dq), (key, w_k, dk), (value, w_v, dv)):
        dprojected = merge_heads(dhead)
        grads.append(dprojected @ w)
        flat = dprojected.reshape(-1, embed)
        dweight_rows.append(flat.T @ x.reshape(-1, embed))
        dbias_rows.append(flat.sum(axis=0))
    dparams = {"in_proj_weight": np.concatenate(dweight_rows), "in_proj_bias": np.concatenate(dbias_rows), **dparams}
    return (*grads, dparams)


def float_params(function: str, params, shapes: dict[str, tuple[int, ...]], dtype: np.dtype) -> dict[str, np.ndarray]:
    """``params`` checked to have exactly the keys of ``shapes``, in ``dtype``, as float64."""
    if not isinstance(params, dict):
        raise TypeError(f"{function}: argument 'params' must be a dict of arrays keyed like the PyTorch module's parameters; got {type(params).__name__}")
    missing, unknown = [key for key in shapes if key not in params], [key for key in params if key not in shapes]
    if missing or unknown:
        raise check.invalid(function, "params", f"must have the keys {list(shapes)}; missing {missing}, unknown {unknown}")
    converted = {}
    for key, shape in shapes.items():
        array = check.float_array(function, f"params['{key}']", params[key])
        check.same_dtype(function, f"params['{key}']", array, dtype)
        check.shape_is(function, f"params['{key}']", array, shape)
        converted[key] = array.astype(np.float64, copy=False)
    return converted


def padding_mask(function: str, name: str, mask, batch: int, source: int) -> np.ndarray:
    """A key padding mask ``(N, S)`` (bool: True = padding, left out; float: added) as an
    additive float64 mask ``(N, 1, 1, S)`` that broadcasts over heads and queries."""
    additive = additive_mask(function, name, mask, true_means="masked")
    if additive.shape != (batch, source):
        raise check.invalid(function, name, f"must have shape (N, S) = {(batch, source)}; got {mask.shape}")
    return additive[:, None, None, :]


def multi_head_attention_forward(query, key, value, params, num_heads, key_padding_mask=None, attn_mask=None, need_weights=False):
    """``nn.MultiheadAttention(E, num_heads)`` (``batch_first=False``, no dropout) with the
    given ``params``. Returns ``(out, weights, cache)``.

    ``query`` is ``(L, N, E)``, ``key`` and ``value`` ``(S, N, E)``. ``params`` is keyed like
    the module's ``named_parameters()``: ``in_proj_weight`` ``(3E, E)`` (the query, key and
    value projections stacked), ``in_proj_bias`` ``(3E,)``, ``out_proj.weight`` ``(E, E)``,
    ``out_proj.bias`` ``(E,)``. Each of the ``num_heads`` heads attends with its own
    ``E / num_heads`` features, scaled by ``1 / sqrt(E / num_heads)``; the heads' outputs,
    side by side, go through ``out_proj``.

    The masks follow ``nn.MultiheadAttention``, the opposite of
    ``F.scaled_dot_product_attention``'s for booleans: ``key_padding_mask`` ``(N, S)`` and
    ``attn_mask`` ``(L, S)`` or ``(N * num_heads, L, S)`` are True where a key is *left
    out*, or float (added to the scores). ``weights`` is the attention weights averaged
    over the heads, ``(N, L, S)``, with ``need_weights``; None without. A query whose every
    key is masked out attends to nothing: its output is ``out_proj.bias`` without
    ``need_weights`` and NaN with it (as PyTorch's), and its weights are NaN.
    """
    function = MHA_FORWARD
    query = check.float_array(function, "query", query, ndim=3)
    key = check.float_array(function, "key", key, ndim=3)
    value = check.float_array(function, "value", value, ndim=3)
    length, batch, embed = query.shape
    for name, array in (("key", key), ("value", value)):
        check.same_dtype(function, name, array, query.dtype)
        if array.shape[1:] != (batch, embed):
            raise check.invalid(function, name, f"must be (S, N, E) with the query's N = {batch} and E = {embed}; got shape {array.shape}")
    if value.shape[0] != key.shape[0]:
        raise check.invalid(function, "value", f"must have as many positions as the key, S = {key.shape[0]}; got shape {value.shape}")
    source = key.shape[0]
    num_heads = check.positive_int(function, "num_heads", num_heads)
    if embed % num_heads:
        raise check.invalid(function, "num_heads", f"must divide the embedding size E = {embed}; got {num_heads}")
    shapes = {"in_proj_weight": (3 * embed, embed), "in_proj_bias": (3 * embed,), "out_proj.weight": (embed, embed), "out_proj.bias": (embed,)}
    params64 = float_params(function, params, shapes, query.dtype)
    need_weights = check.boolean(function, "need_weights", need_weights)
    mask = None
    if key_padding_mask is not None:
        mask = padding_mask(function, "key_padding_mask", key_padding_mask, batch, source)
    if attn_mask is not None:
        additive = additive_mask(function, "attn_mask", attn_mask, true_means="masked")
        if additive.shape == (length, source):
            additive = additive[None, None]
        elif additive.shape == (batch * num_heads, length, source):
            additive = additive.reshape(batch, num_heads, length, source)  # row n * H + h: sample n, head h
        else:
            raise check.invalid(function, "attn_mask", f"must have shape (L, S) = {(length, source)} or (N * num_heads, L, S) = "
                                f"{(batch * num_heads, length, source)}; got {attn_mask.shape}")
        mask = additive if mask is None else mask + additive
    arrays = (array.astype(np.float64, copy=False) for array in (query, key, value))
    out, weights, cache = multi_head_forward(*arrays, params64, num_heads, mask, need_weights)
    cache = cache._replace(dtype=query.dtype)  # the gradients' dtype
    return out.astype(query.dtype), None if weights is None else weights.astype(query.dtype), cache


def multi_head_attention_backward(dout, dweights, cache: MultiHeadCache):
    """``(dquery, dkey, dvalue, dparams)``; ``dweights`` (the upstream gradient of the
    averaged weights) may be None, and must be when the forward returned no weights."""
    function = "multi_head_attention_backward"
    dout = check.float_array(function, "dout", dout)
    check.shape_is(function, "dout", dout, cache.query.shape)
    if dweights is not None:
        if not cache.need_weights:
            raise check.invalid(function, "dweights", "must be None: the forward returned no weights (need_weights=False)")
        dweights = check.float_array(function, "dweights", dweights)
        batch, _, length, source = cache.weights.shape
        check.shape_is(function, "dweights", dweights, (batch, length, source))
        dweights = dweights.astype(np.float64, copy=False)
    *grads, dparams = multi_head_backward(dout.astype(np.float64, copy=False), dweights, cache)
    return (*(grad.astype(cache.dtype) for grad in grads), {key: grad.astype(cache.dtype) for key, grad in dparams.items()})
