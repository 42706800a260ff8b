"""group_norm whose backward forgets that each group's mean depends on x: the
``- sum(dxhat)`` term of dx = inv_std / n * (n dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))
is dropped, so dx sums to sum(dxhat) * inv_std per group instead of 0. The forward is right."""

import numpy as np

import reference
from reference import *  # noqa: F403

BUG = {"layer": "group_norm", "checks": ["backward", "gradcheck"]}


def group_norm_forward(x, num_groups, weight=None, bias=None, eps=1e-5):
    out, cache = reference.group_norm_forward(x, num_groups, weight, bias, eps)
    return out, (cache, x.astype(np.float64), num_groups, None if weight is None else weight.astype(np.float64), eps)


def group_norm_backward(dout, cache):
    inner, x, num_groups, weight, eps = cache
    dx, dweight, dbias = reference.group_norm_backward(dout, inner)
    rows = x.reshape(x.shape[0], num_groups, -1)
    inv_std = 1.0 / np.sqrt(rows.var(axis=2, keepdims=True) + eps)
    dxhat = dout.astype(np.float64)
    if weight is not None:
        dxhat = dxhat * weight.reshape((1, -1) + (1,) * (x.ndim - 2))
    mean_term = inv_std * dxhat.reshape(rows.shape).mean(axis=2, keepdims=True)
    return (dx + np.broadcast_to(mean_term, rows.shape).reshape(x.shape)).astype(dx.dtype), dweight, dbias
