"""2-D pooling: max, average and adaptive average, forward and backward.

Max and average pooling reduce a strided window view (``window_view``), of shape
``(N, C, H_out, W_out, kernel_h, kernel_w)``; their backward passes put each window's
gradient back with ``scatter_windows`` (overlapping windows add up).

They reduce it *offset by offset*: ``windows[..., a, b]`` is, for kernel offset ``(a, b)``,
the pixel every window reads there, a strided ``(N, C, H_out, W_out)`` view; the max (or
sum) of the window is the elementwise max (or sum) of those ``kernel_h * kernel_w`` views.
That is a loop over the kernel offsets (4 for a 2x2 pool), each step one vectorised
operation over the whole batch. The same reduction written ``windows.max(axis=(-2, -1))``
runs NumPy's reduction machinery over two axes of length 2 with odd strides: ~20x slower
here (16 ms against 0.8 ms for a 2x2 max over 16x64x32x32).

Adaptive average pooling has windows of different sizes, so it is written as two
averaging matrices, one per spatial axis: ``out = A_h @ x @ A_w.T``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validation as check
from ._windows import Padding4, Pair, pad_spatial, scatter_windows, window_view


class PoolGeometry(NamedTuple):
    """Where the windows of a pooling layer lie, in the padded input."""

    kernel: Pair
    stride: Pair
    dilation: Pair
    padding: Padding4  # (top, bottom, left, right); bottom/right also cover the ceil-mode overhang
    out_size: Pair
    input_hw: Pair

    @property
    def padded_hw(self) -> Pair:
        top, bottom, left, right = self.padding
        return (self.input_hw[0] + top + bottom, self.input_hw[1] + left + right)

    def crop(self, padded: np.ndarray) -> np.ndarray:
        top, _, left, _ = self.padding
        return padded[..., top : top + self.input_hw[0], left : left + self.input_hw[1]]


def pooled_size(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    """PyTorch's ``pooling_output_shape``: ceil mode adds a last, partial window only if it
    starts inside the input or the left padding."""
    span = dilation * (kernel - 1) + 1
    numerator = size + 2 * pad - span + (stride - 1 if ceil_mode else 0)
    out = numerator // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def pool_geometry(function: str, x, kernel_size, stride, padding, dilation, ceil_mode) -> PoolGeometry:
    """Validate the common pooling arguments and lay out the windows."""
    x = check.float_array(function, "x", x, ndim=4)
    kernel = check.int_pair(function, "kernel_size", kernel_size, minimum=1)
    stride = kernel if stride is None else check.int_pair(function, "stride", stride, minimum=1)
    pad = check.int_pair(function, "padding", padding, minimum=0)
    dilation = check.int_pair(function, "dilation", dilation, minimum=1)
    ceil_mode = check.boolean(function, "ceil_mode", ceil_mode)
    if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
        raise check.invalid(function, "padding", f"must be at most half of kernel_size={kernel}; got {padding!r}")
    input_hw = x.shape[2:]
    out_size = (
        pooled_size(input_hw[0], kernel[0], stride[0], pad[0], dilation[0], ceil_mode),
        pooled_size(input_hw[1], kernel[1], stride[1], pad[1], dilation[1], ceil_mode),
    )
    if min(out_size) < 1:
        raise check.invalid(
            function, "kernel_size",
            f"{kernel} with dilation {dilation} does not fit in the input {input_hw} padded by {pad}",
        )
    # Pad the far side enough for the last window (ceil mode can reach past the padding).
    needed = [(out_size[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1 for a in (0, 1)]
    far = [max(pad[a], needed[a] - input_hw[a] - pad[a]) for a in (0, 1)]
    return PoolGeometry(kernel, stride, dilation, (pad[0], far[0], pad[1], far[1]), out_size, input_hw)


def _windows(x_padded: np.ndarray, geometry: PoolGeometry) -> np.ndarray:
    return window_view(x_padded, geometry.kernel, geometry.stride, geometry.dilation, geometry.out_size)


def _padded_windows(x: np.ndarray, geometry: PoolGeometry, value: float) -> np.ndarray:
    """The windows of ``x`` padded with ``value``; without padding, of ``x`` itself (only
    read: a view needs no copy)."""
    padded = pad_spatial(x, geometry.padding, value) if any(geometry.padding) else x
    return _windows(padded, geometry)


def _offset_views(windows: np.ndarray) -> list[np.ndarray]:
    """``windows[..., a, b]`` for every kernel offset, in row-major window order: what the
    windows read at that offset, each a strided (N, C, H_out, W_out) view."""
    kernel_h, kernel_w = windows.shape[-2:]
    return [windows[..., a, b] for a in range(kernel_h) for b in range(kernel_w)]


# ----------------------------------------------------------------------------- max pool


class MaxPool2dCache(NamedTuple):
    argmax: np.ndarray  # (N, C, H_out, W_out), any integer dtype: index of the maximum within its flattened window
    geometry: PoolGeometry
    dtype: np.dtype


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max over each window; padding is -inf, so it never wins. Returns ``(out, cache)``."""
    geometry = pool_geometry("max_pool2d_forward", x, kernel_size, stride, padding, dilation, ceil_mode)
    offsets = _offset_views(_padded_windows(x, geometry, -np.inf))
    out = offsets[0].copy()
    for values in offsets[1:]:
        np.maximum(out, values, out=out)
    # The argmax is the first maximum in row-major window order, as PyTorch's: the number of
    # offsets before the first one that holds the maximum. (NaN compares unequal to
    # everything, so a NaN window keeps counting and its index stays inside the window.)
    argmax = np.zeros(out.shape, dtype=np.min_scalar_type(len(offsets) - 1))
    searching = np.ones(out.shape, dtype=bool)
    for values in offsets[:-1]:
        searching &= values != out
        argmax += searching
    return out, MaxPool2dCache(argmax, geometry, x.dtype)


def max_pool2d_backward(dout, cache: MaxPool2dCache):
    """Each window's gradient goes to its (first) maximum only."""
    dout = check.float_array("max_pool2d_backward", "dout", dout, ndim=4)
    argmax, geometry, dtype = cache
    kernel_h, kernel_w = geometry.kernel
    window_grads = np.zeros((*argmax.shape, kernel_h * kernel_w), dtype=dtype)
    np.put_along_axis(window_grads, argmax[..., None], dout[..., None], axis=-1)
    window_grads = window_grads.reshape(*argmax.shape, kernel_h, kernel_w)
    return geometry.crop(scatter_windows(window_grads, geometry.padded_hw, geometry.stride, geometry.dilation))


# ------------------------------------------------------------------------- average pool


class AvgPool2dCache(NamedTuple):
    divisor: np.ndarray  # (H_out, W_out): how many pixels each window averages over
    geometry: PoolGeometry
    dtype: np.dtype


def _axis_divisor(size: int, kernel: int, stride: int, pad: int, out: int, count_include_pad: bool) -> np.ndarray:
    """PyTorch's window sizes along one axis: padding counts (if asked), the overhang never."""
    start = np.arange(out) * stride - pad
    end = np.minimum(start + kernel, size + pad)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over each window; ``count_include_pad`` decides whether zero padding counts."""
    function = "avg_pool2d_forward"
    geometry = pool_geometry(function, x, kernel_size, stride, padding, 1, ceil_mode)
    count_include_pad = check.boolean(function, "count_include_pad", count_include_pad)
    pad_h, _, pad_w, _ = geometry.padding
    rows, cols = (
        _axis_divisor(geometry.input_hw[a], geometry.kernel[a], geometry.stride[a], (pad_h, pad_w)[a], geometry.out_size[a], count_include_pad)
        for a in (0, 1)
    )
    divisor = np.outer(rows, cols).astype(x.dtype)
    offsets = _offset_views(_padded_windows(x, geometry, 0.0))
    total = offsets[0].copy()
    for values in offsets[1:]:
        total += values
    total /= divisor
    return total, AvgPool2dCache(divisor, geometry, x.dtype)


def avg_pool2d_backward(dout, cache: AvgPool2dCache):
    """Each window's gradient is shared equally by the pixels it averaged."""
    dout = check.float_array("avg_pool2d_backward", "dout", dout, ndim=4)
    divisor, geometry, dtype = cache
    share = (dout / divisor)[..., None, None]
    window_grads = np.broadcast_to(share, (*dout.shape, *geometry.kernel))
    return geometry.crop(scatter_windows(window_grads, geometry.padded_hw, geometry.stride, geometry.dilation))


# ---------------------------------------------------------------- adaptive average pool


class AdaptiveAvgPool2dCache(NamedTuple):
    rows: np.ndarray  # (H_out, H) averaging matrix
    cols: np.ndarray  # (W_out, W)


def averaging_matrix(size: int, out: int, dtype) -> np.ndarray:
    """Row ``o`` averages input ``[floor(o * size / out), ceil((o + 1) * size / out))``."""
    index = np.arange(out)
    start = (index * size) // out
    end = -((-(index + 1) * size) // out)  # ceil division in integers: exact for any size
    pixel = np.arange(size)
    inside = (pixel >= start[:, None]) & (pixel < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _output_size(function: str, output_size, input_hw) -> Pair:
    pair = (output_size, output_size) if not isinstance(output_size, (tuple, list)) else tuple(output_size)
    if len(pair) != 2:
        raise TypeError(f"{function}: argument 'output_size' must be an int or a pair; got {output_size!r}")
    # None keeps that axis's input size, as in PyTorch.
    filled = tuple(input_hw[a] if pair[a] is None else pair[a] for a in (0, 1))
    return check.int_pair(function, "output_size", filled, minimum=1)


def adaptive_avg_pool2d_forward(x, output_size):
    """Average pooling to a fixed ``output_size`` (int, pair, None entries keep the input size)."""
    function = "adaptive_avg_pool2d_forward"
    x = check.float_array(function, "x", x, ndim=4)
    out_h, out_w = _output_size(function, output_size, x.shape[2:])
    rows = averaging_matrix(x.shape[2], out_h, x.dtype)
    cols = averaging_matrix(x.shape[3], out_w, x.dtype)
    out = np.einsum("ph,nchw,qw->ncpq", rows, x, cols, optimize=True)
    return out, AdaptiveAvgPool2dCache(rows, cols)


def adaptive_avg_pool2d_backward(dout, cache: AdaptiveAvgPool2dCache):
    """The transpose of the forward's two averaging matrices."""
    dout = check.float_array("adaptive_avg_pool2d_backward", "dout", dout, ndim=4)
    rows, cols = cache
    return np.einsum("ph,ncpq,qw->nchw", rows, dout, cols, optimize=True)
