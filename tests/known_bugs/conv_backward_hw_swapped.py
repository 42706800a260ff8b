"""A learner's loop convolution whose backward unpacks ``_, _, w_out, h_out = dout.shape``:
the output's H and W swapped. Square outputs hide it; on others the loops visit the wrong
positions (or run past dout's edge)."""

import numpy as np

from reference import *  # noqa: F403

BUG = {"layer": "conv2d", "checks": ["backward"]}


def conv2d_forward(x, w, b, stride=1, pad=0):
    if not isinstance(stride, int) or not isinstance(pad, int):
        raise TypeError("this convolution takes an int stride and padding")
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    h_out, w_out = (xp.shape[2] - kh) // stride + 1, (xp.shape[3] - kw) // stride + 1
    out = np.empty((x.shape[0], f, h_out, w_out), dtype=x.dtype)
    for i in range(h_out):
        for j in range(w_out):
            window = xp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, stride, pad)


def conv2d_backward(dout, cache):
    x, w, stride, pad = cache
    _, _, kh, kw = w.shape
    _, _, w_out, h_out = dout.shape  # the bug: H_out and W_out swapped
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(h_out):
        for j in range(w_out):
            rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
            dw += np.tensordot(dout[:, :, i, j], xp[:, :, rows, cols], axes=([0], [0]))
            dxp[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    return dxp[:, :, pad : xp.shape[2] - pad, pad : xp.shape[3] - pad], dw, dout.sum(axis=(0, 2, 3))
