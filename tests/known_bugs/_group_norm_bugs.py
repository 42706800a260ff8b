"""Group norms standardised over the wrong values, built on the public layer_norm pair:
``rows_of(x, num_groups)`` lays the values each wrong "group" pools along the last axis,
``back(rows, shape)`` undoes it; the per-channel weight and bias are applied here."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

import reference


class Cache(NamedTuple):
    rows: object  # layer_norm's cache
    xhat: np.ndarray
    scale: np.ndarray | None  # weight as (1, C, 1, ...)
    has_bias: bool
    num_groups: int


def _per_channel(array, ndim):
    return None if array is None else array.reshape((1, -1) + (1,) * (ndim - 2))


def group_norm_over(rows_of, back):
    """``(group_norm_forward, group_norm_backward)`` standardising each row of ``rows_of``."""

    def group_norm_forward(x, num_groups, weight=None, bias=None, eps=1e-5):
        rows = rows_of(x, num_groups)
        standardised, cache = reference.layer_norm_forward(rows, rows.shape[-1], None, None, eps)
        xhat = back(standardised, x.shape)
        scale = _per_channel(weight, x.ndim)
        out = xhat if scale is None else xhat * scale
        if bias is not None:
            out = out + _per_channel(bias, x.ndim)
        return out, Cache(cache, xhat, scale, bias is not None, num_groups)

    def group_norm_backward(dout, cache):
        rows, xhat, scale, has_bias, num_groups = cache
        dxhat = dout if scale is None else dout * scale
        drows, _, _ = reference.layer_norm_backward(rows_of(dxhat, num_groups), rows)
        axes = (0, *range(2, dout.ndim))
        dweight = None if scale is None else (dout * xhat).sum(axis=axes)
        dbias = dout.sum(axis=axes) if has_bias else None
        return back(drows, xhat.shape), dweight, dbias

    return group_norm_forward, group_norm_backward
