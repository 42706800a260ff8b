"""adaptive_avg_pool2d as a plain average pool with stride H // H_out and kernel
H - (H_out - 1) * stride (a common shortcut): right only when H_out divides H."""

import numpy as np

import reference
from reference import *  # noqa: F403
from reference.seams import AdaptiveAvgPool2dCache

BUG = {"layer": "adaptive_avg_pool2d", "checks": ["forward", "backward"]}


def _uniform_matrix(size, out, dtype):
    stride = size // out
    kernel = size - (out - 1) * stride
    start = np.arange(out) * stride
    pixel = np.arange(size)
    inside = (pixel >= start[:, None]) & (pixel < start[:, None] + kernel)
    return (inside / kernel).astype(dtype)


def adaptive_avg_pool2d_forward(x, output_size):
    _, cache = reference.adaptive_avg_pool2d_forward(x, output_size)
    rows = _uniform_matrix(x.shape[2], cache.rows.shape[0], x.dtype)
    cols = _uniform_matrix(x.shape[3], cache.cols.shape[0], x.dtype)
    return np.einsum("ph,nchw,qw->ncpq", rows, x, cols), AdaptiveAvgPool2dCache(rows, cols)
