"""Sliding windows over the last two axes, as a strided view (no copies, no loops).

A 2-D layer reads, for every output pixel ``(i, j)``, the input pixels
``(i * stride_h + a * dilation_h, j * stride_w + b * dilation_w)`` for kernel offsets
``(a, b)``. ``window_view`` exposes exactly those pixels as an array of shape
``(..., out_h, out_w, kernel_h, kernel_w)`` with ``numpy.lib.stride_tricks.as_strided``;
a layer then reduces over the last two axes (pooling) or contracts them with a kernel
(convolution). The view is read-only: writing through overlapping windows would be a bug.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

Pair = tuple[int, int]
# (top, bottom, left, right): convolution's 'same' padding and pooling's ceil mode
# need the two sides of an axis to differ.
Padding4 = tuple[int, int, int, int]


def pad_spatial(x: np.ndarray, padding: Padding4, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of ``x``; always returns a new array (never ``x`` itself)."""
    top, bottom, left, right = padding
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(x, widths, mode="constant", constant_values=value)


def window_count(size: int, kernel: int, stride: int, dilation: int) -> int:
    """How many whole windows fit along an axis of ``size`` (floor mode)."""
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def window_view(x: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_size: Pair) -> np.ndarray:
    """Read-only view ``(..., out_h, out_w, kernel_h, kernel_w)`` of the windows of ``x``."""
    *lead_strides, row_stride, col_stride = x.strides
    shape = (*x.shape[:-2], out_size[0], out_size[1], kernel[0], kernel[1])
    strides = (
        *lead_strides,
        row_stride * stride[0],
        col_stride * stride[1],
        row_stride * dilation[0],
        col_stride * dilation[1],
    )
    return as_strided(x, shape=shape, strides=strides, writeable=False)


def scatter_windows(window_grads: np.ndarray, padded_hw: Pair, stride: Pair, dilation: Pair) -> np.ndarray:
    """Adjoint of ``window_view``: sum per-window gradients back onto the padded input.

    ``window_grads`` has shape ``(..., out_h, out_w, kernel_h, kernel_w)``; windows may
    overlap, so one input pixel can receive several contributions. At one kernel offset
    ``(a, b)`` they cannot: there the windows read distinct pixels, the strided slice
    ``[a * dilation_h :: stride_h, b * dilation_w :: stride_w]`` of the input. So the
    adjoint adds ``window_grads[..., a, b]`` into that slice, offset by offset: one
    vectorised addition per kernel offset, in the gradients' own dtype.
    """
    *lead, out_h, out_w, kernel_h, kernel_w = window_grads.shape
    summed = np.zeros((*lead, *padded_hw), dtype=window_grads.dtype)
    for a in range(kernel_h):
        rows = slice(a * dilation[0], a * dilation[0] + (out_h - 1) * stride[0] + 1, stride[0])
        for b in range(kernel_w):
            cols = slice(b * dilation[1], b * dilation[1] + (out_w - 1) * stride[1] + 1, stride[1])
            summed[..., rows, cols] += window_grads[..., a, b]
    return summed
