"""2-D convolution (PyTorch's ``conv2d``: cross-correlation), forward and backward.

The forward pass is "im2col" written as NumPy: a strided view of every receptive field
(``window_view``) flattened and multiplied by the flattened kernels, one matmul per group.
The backward pass is two more convolutions:

* ``dweight`` correlates the input windows with ``dout``;
* ``dx`` is the *transposed* convolution: ``dout`` with ``stride - 1`` zeros inserted
  between its pixels, padded by the dilated kernel span, correlated with the kernels
  flipped in space and with their in/out channels swapped.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validation as check
from ._windows import Padding4, Pair, pad_spatial, window_count, window_view

FORWARD = "conv2d_forward"


class Conv2dCache(NamedTuple):
    x_padded: np.ndarray
    weight: np.ndarray
    has_bias: bool
    stride: Pair
    padding: Padding4
    dilation: Pair
    groups: int


def resolve_padding(padding, kernel: Pair, stride: Pair, dilation: Pair) -> Padding4:
    """``padding`` as (top, bottom, left, right), with PyTorch's rules for the strings."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise check.invalid(FORWARD, "padding", f"must be an int, a pair, 'valid' or 'same'; got {padding!r}")
        if stride != (1, 1):
            raise check.invalid(FORWARD, "padding", f"'same' is not supported for strided convolutions; got stride={stride}")
        # The total padding is the dilated kernel span; PyTorch puts the odd pixel at the bottom/right.
        total_h, total_w = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
        return (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
    pad_h, pad_w = check.int_pair(FORWARD, "padding", padding, minimum=0)
    return (pad_h, pad_h, pad_w, pad_w)


def correlate(x_padded: np.ndarray, weight: np.ndarray, stride: Pair, dilation: Pair, groups: int) -> np.ndarray:
    """Grouped cross-correlation of an already padded input: the core of all three passes."""
    batch, channels, height, width = x_padded.shape
    out_channels, group_channels, kernel_h, kernel_w = weight.shape
    out_h = window_count(height, kernel_h, stride[0], dilation[0])
    out_w = window_count(width, kernel_w, stride[1], dilation[1])
    windows = window_view(x_padded, (kernel_h, kernel_w), stride, dilation, (out_h, out_w))
    # (N, G, Cg, Ho, Wo, kh, kw) -> (G, N*Ho*Wo, Cg*kh*kw): the im2col matrix of each group.
    columns = (
        windows.reshape(batch, groups, group_channels, out_h, out_w, kernel_h, kernel_w)
        .transpose(1, 0, 3, 4, 2, 5, 6)
        .reshape(groups, batch * out_h * out_w, group_channels * kernel_h * kernel_w)
    )
    kernels = weight.reshape(groups, out_channels // groups, group_channels * kernel_h * kernel_w)
    out = columns @ kernels.transpose(0, 2, 1)  # (G, N*Ho*Wo, Cout/G)
    return (
        out.reshape(groups, batch, out_h, out_w, out_channels // groups)
        .transpose(1, 0, 4, 2, 3)
        .reshape(batch, out_channels, out_h, out_w)
    )


def input_grad(dout: np.ndarray, weight: np.ndarray, stride: Pair, dilation: Pair, groups: int, padded_hw: Pair) -> np.ndarray:
    """Gradient with respect to the padded input: a transposed convolution of ``dout``."""
    batch, out_channels, out_h, out_w = dout.shape
    _, group_channels, kernel_h, kernel_w = weight.shape
    # Undo the stride: every output pixel came from a window that starts `stride` pixels apart.
    spread = np.zeros((batch, out_channels, (out_h - 1) * stride[0] + 1, (out_w - 1) * stride[1] + 1), dtype=dout.dtype)
    spread[:, :, :: stride[0], :: stride[1]] = dout
    span_h, span_w = dilation[0] * (kernel_h - 1), dilation[1] * (kernel_w - 1)
    spread = pad_spatial(spread, (span_h, span_h, span_w, span_w))
    # Kernels flipped in space, in/out channels swapped within each group.
    flipped = (
        weight.reshape(groups, out_channels // groups, group_channels, kernel_h, kernel_w)
        .transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
        .reshape(groups * group_channels, out_channels // groups, kernel_h, kernel_w)
    )
    dx_used = correlate(spread, flipped, (1, 1), dilation, groups)
    # Rows and columns past the last window were never read: their gradient is zero.
    missing_h, missing_w = padded_hw[0] - dx_used.shape[2], padded_hw[1] - dx_used.shape[3]
    return pad_spatial(dx_used, (0, missing_h, 0, missing_w))


def weight_grad(dout: np.ndarray, x_padded: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, groups: int) -> np.ndarray:
    """Gradient with respect to the kernels: the input windows correlated with ``dout``."""
    batch, channels, _, _ = x_padded.shape
    _, out_channels, out_h, out_w = dout.shape
    group_channels = channels // groups
    windows = window_view(x_padded, kernel, stride, dilation, (out_h, out_w))
    columns = (
        windows.reshape(batch, groups, group_channels, out_h, out_w, *kernel)
        .transpose(1, 0, 3, 4, 2, 5, 6)
        .reshape(groups, batch * out_h * out_w, group_channels * kernel[0] * kernel[1])
    )
    dout_rows = (
        dout.reshape(batch, groups, out_channels // groups, out_h, out_w)
        .transpose(1, 2, 0, 3, 4)
        .reshape(groups, out_channels // groups, batch * out_h * out_w)
    )
    return (dout_rows @ columns).reshape(out_channels, group_channels, *kernel)


def _validate(x, weight, bias, stride, padding, dilation, groups):
    x = check.float_array(FORWARD, "x", x, ndim=4)
    weight = check.float_array(FORWARD, "weight", weight, ndim=4)
    check.same_dtype(FORWARD, "weight", weight, x.dtype)
    groups = check.positive_int(FORWARD, "groups", groups)
    stride = check.int_pair(FORWARD, "stride", stride, minimum=1)
    dilation = check.int_pair(FORWARD, "dilation", dilation, minimum=1)
    out_channels, group_channels, kernel_h, kernel_w = weight.shape
    if out_channels % groups:
        raise check.invalid(FORWARD, "weight", f"must have a multiple of groups={groups} output channels (dim 0); got shape {weight.shape}")
    if x.shape[1] != group_channels * groups:
        raise check.invalid(
            FORWARD, "x",
            f"must have weight.shape[1] * groups = {group_channels * groups} channels (dim 1) "
            f"for weight of shape {weight.shape} and groups={groups}; got shape {x.shape}",
        )
    if bias is not None:
        bias = check.float_array(FORWARD, "bias", bias, ndim=1)
        check.same_dtype(FORWARD, "bias", bias, x.dtype)
        check.shape_is(FORWARD, "bias", bias, (out_channels,))
    pads = resolve_padding(padding, (kernel_h, kernel_w), stride, dilation)
    padded_hw = (x.shape[2] + pads[0] + pads[1], x.shape[3] + pads[2] + pads[3])
    span = (dilation[0] * (kernel_h - 1) + 1, dilation[1] * (kernel_w - 1) + 1)
    if span[0] > padded_hw[0] or span[1] > padded_hw[1]:
        raise check.invalid(
            FORWARD, "weight",
            f"has a kernel spanning {span} pixels (dilation included), larger than the padded input {padded_hw}",
        )
    return x, weight, bias, stride, pads, dilation, groups


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlate ``x`` (N, C_in, H, W) with ``weight`` (C_out, C_in // groups, kH, kW).

    ``padding`` is an int, an ``(h, w)`` pair, ``'valid'`` (no padding) or ``'same'``
    (output as large as the input; stride 1 only). Returns ``(out, cache)`` with ``out``
    of shape (N, C_out, H_out, W_out), where
    ``H_out = (H + pad_top + pad_bottom - dilation * (kH - 1) - 1) // stride + 1``.
    """
    x, weight, bias, stride, pads, dilation, groups = _validate(x, weight, bias, stride, padding, dilation, groups)
    x_padded = pad_spatial(x, pads)
    out = correlate(x_padded, weight, stride, dilation, groups)
    if bias is not None:
        out += bias[:, None, None]
    return out, Conv2dCache(x_padded, weight.copy(), bias is not None, stride, pads, dilation, groups)


def conv2d_backward(dout, cache: Conv2dCache):
    """Gradients ``(dx, dweight, dbias)`` of ``conv2d_forward``; ``dbias`` is None without a bias."""
    dout = check.float_array("conv2d_backward", "dout", dout, ndim=4)
    x_padded, weight, has_bias, stride, pads, dilation, groups = cache
    kernel = weight.shape[2:]
    dx_padded = input_grad(dout, weight, stride, dilation, groups, x_padded.shape[2:])
    top, _, left, _ = pads
    height, width = x_padded.shape[2] - pads[0] - pads[1], x_padded.shape[3] - pads[2] - pads[3]
    dx = dx_padded[:, :, top : top + height, left : left + width]
    dweight = weight_grad(dout, x_padded, kernel, stride, dilation, groups)
    dbias = dout.sum(axis=(0, 2, 3)) if has_bias else None
    return dx, dweight, dbias
