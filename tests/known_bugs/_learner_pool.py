"""A learner-sized max pool for the known bugs that live in a learner's own loops: an int
``kernel_size`` and ``stride`` (None: the kernel size), no padding, no dilation, floor
mode; the optional features it leaves out are never drawn for it."""

from __future__ import annotations

import numpy as np


def max_pool_forward(x, kernel_size, stride=None):
    if not isinstance(kernel_size, int) or not isinstance(stride, (int, type(None))):
        raise TypeError("this max pool takes an int kernel_size and stride")
    step = kernel_size if stride is None else stride
    batch, channels, height, width = x.shape
    out = np.empty((batch, channels, (height - kernel_size) // step + 1, (width - kernel_size) // step + 1), dtype=x.dtype)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[:, :, i * step : i * step + kernel_size, j * step : j * step + kernel_size].max(axis=(2, 3))
    return out, (x, kernel_size, step)


def max_pool_backward(dout, cache, *, height_width=None, last_tie: bool = False):
    """Each window's gradient to its first maximum in row-major order (PyTorch's rule), or
    its last with ``last_tie``; ``height_width(x)``: how the learner reads H and W."""
    x, kernel, step = cache
    batch, channels = x.shape[:2]
    height, width = height_width(x) if height_width else x.shape[2:]
    n, c = np.meshgrid(np.arange(batch), np.arange(channels), indexing="ij")
    dx = np.zeros_like(x)
    for i in range((height - kernel) // step + 1):
        for j in range((width - kernel) // step + 1):
            window = x[:, :, i * step : i * step + kernel, j * step : j * step + kernel].reshape(batch, channels, -1)
            flat = window.shape[-1] - 1 - window[..., ::-1].argmax(axis=-1) if last_tie else window.argmax(axis=-1)
            rows, cols = np.divmod(flat, kernel)
            np.add.at(dx, (n, c, i * step + rows, j * step + cols), dout[:, :, i, j])
    return dx
