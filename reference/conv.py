"""2-D convolution (PyTorch's ``conv2d``: cross-correlation), forward and backward.

The forward pass is "im2col" written as NumPy: a strided view of every receptive field of
a channels-last copy of the input, flattened and multiplied by the flattened kernels, one
matmul per group.
The backward pass is two more convolutions:

* ``dweight`` correlates the input windows with ``dout``;
* ``dx`` is the *transposed* convolution: ``dout`` with ``stride - 1`` zeros inserted
  between its pixels, padded by the dilated kernel span, correlated with the kernels
  flipped in space and with their in/out channels swapped.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _validation as check
from ._windows import Padding4, Pair, window_count

FORWARD = "conv2d_forward"


class Conv2dCache(NamedTuple):
    x_padded: np.ndarray  # channels last: (N, H + pads, W + pads, C_in)
    weight: np.ndarray
    has_bias: bool
    stride: Pair
    padding: Padding4
    dilation: Pair
    groups: int
    columns: np.ndarray | None = None  # the forward's im2col matrix, reused for dweight


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


def pad_channels_last(x: np.ndarray, padding: Padding4) -> np.ndarray:
    """``x`` (N, C, H, W) zero-padded and laid out channels last, (N, Hp, Wp, C), in one copy."""
    top, bottom, left, right = padding
    batch, channels, height, width = x.shape
    padded = np.zeros((batch, height + top + bottom, width + left + right, channels), dtype=x.dtype)
    padded[:, top : top + height, left : left + width] = x.transpose(0, 2, 3, 1)
    return padded


def _columns(x_padded: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, groups: int, out_size: Pair) -> np.ndarray:
    """The im2col matrix of each group, ``(G, N*Ho*Wo, kh*kw*Cg)``, of a channels-last input.

    Channels last, each row gathers ``kh*kw`` runs of ``Cg`` contiguous values (channels
    first, it would gather single values from ``Cg*kh*kw`` places): a much faster copy.
    """
    batch, _, _, channels = x_padded.shape
    s_batch, s_row, s_col, s_channel = x_padded.strides
    windows = as_strided(
        x_padded,
        shape=(batch, *out_size, *kernel, channels),
        strides=(s_batch, s_row * stride[0], s_col * stride[1], s_row * dilation[0], s_col * dilation[1], s_channel),
        writeable=False,
    )
    group_channels = channels // groups
    return (
        windows.reshape(batch, *out_size, *kernel, groups, group_channels)
        .transpose(5, 0, 1, 2, 3, 4, 6)
        .reshape(groups, batch * out_size[0] * out_size[1], kernel[0] * kernel[1] * group_channels)
    )


def correlate(x_padded: np.ndarray, weight: np.ndarray, stride: Pair, dilation: Pair, groups: int) -> np.ndarray:
    """Grouped cross-correlation of a padded, channels-last input; the output is (N, C_out, Ho, Wo).
    The core of all three passes."""
    return _correlate_with_columns(x_padded, weight, stride, dilation, groups)[0]


def _correlate_with_columns(x_padded, weight, stride, dilation, groups):
    """``correlate``, also returning the im2col matrix it multiplied."""
    batch, height, width, _ = x_padded.shape
    out_channels, group_channels, kernel_h, kernel_w = weight.shape
    out_size = (window_count(height, kernel_h, stride[0], dilation[0]), window_count(width, kernel_w, stride[1], dilation[1]))
    columns = _columns(x_padded, (kernel_h, kernel_w), stride, dilation, groups, out_size)
    # Kernels flattened in the columns' (kh, kw, Cg) order: (G, Cout/G, kh*kw*Cg).
    kernels = weight.reshape(groups, out_channels // groups, group_channels, kernel_h * kernel_w).transpose(0, 1, 3, 2)
    out = columns @ kernels.reshape(groups, out_channels // groups, -1).transpose(0, 2, 1)  # (G, N*Ho*Wo, Cout/G)
    out = out.reshape(groups, batch, *out_size, out_channels // groups).transpose(1, 0, 4, 2, 3)
    # With one group, a (channels-last) view of the product; grouped channels need a copy.
    return (out[:, 0] if groups == 1 else out.reshape(batch, out_channels, *out_size)), columns


def input_grad(dout: np.ndarray, weight: np.ndarray, stride: Pair, dilation: Pair, groups: int, padding: Padding4, input_hw: Pair) -> np.ndarray:
    """Gradient with respect to the (unpadded) input: a transposed convolution of ``dout``."""
    batch, out_channels, out_h, out_w = dout.shape
    _, group_channels, kernel_h, kernel_w = weight.shape
    span_h, span_w = dilation[0] * (kernel_h - 1), dilation[1] * (kernel_w - 1)
    # dout spread by the stride (every output pixel came from a window `stride` pixels after
    # the last) and padded by the dilated kernel span, channels last, in one copy.
    spread_h, spread_w = (out_h - 1) * stride[0] + 1, (out_w - 1) * stride[1] + 1
    spread = np.zeros((batch, spread_h + 2 * span_h, spread_w + 2 * span_w, out_channels), dtype=dout.dtype)
    spread[:, span_h : span_h + spread_h : stride[0], span_w : span_w + spread_w : stride[1]] = dout.transpose(0, 2, 3, 1)
    # Kernels flipped in space, in/out channels swapped within each group.
    flipped = (
        weight.reshape(groups, out_channels // groups, group_channels, kernel_h, kernel_w)
        .transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
        .reshape(groups * group_channels, out_channels // groups, kernel_h, kernel_w)
    )
    dx_padded = correlate(spread, flipped, (1, 1), dilation, groups)  # rows the windows read, from the top
    # Back to the input's own pixels: drop the padding; rows past the last window were never
    # read and keep a zero gradient.
    top, _, left, _ = padding
    dx = np.zeros((batch, groups * group_channels, *input_hw), dtype=dout.dtype)
    used = dx_padded[:, :, top : top + input_hw[0], left : left + input_hw[1]]
    dx[:, :, : used.shape[2], : used.shape[3]] = used
    return dx


def weight_grad(dout: np.ndarray, x_padded: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, groups: int, columns=None) -> np.ndarray:
    """Gradient with respect to the kernels: the input windows (the forward's ``columns``,
    when given) correlated with ``dout``."""
    batch, _, _, channels = x_padded.shape
    _, out_channels, out_h, out_w = dout.shape
    group_channels = channels // groups
    if columns is None:
        columns = _columns(x_padded, kernel, stride, dilation, groups, (out_h, out_w))
    dout_rows = (
        dout.reshape(batch, groups, out_channels // groups, out_h * out_w)
        .transpose(1, 2, 0, 3)
        .reshape(groups, out_channels // groups, batch * out_h * out_w)
    )
    grad = (dout_rows @ columns).reshape(groups, out_channels // groups, kernel[0] * kernel[1], group_channels)
    return grad.transpose(0, 1, 3, 2).reshape(out_channels, group_channels, *kernel)


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
    x_padded = pad_channels_last(x, pads)
    out, columns = _correlate_with_columns(x_padded, weight, stride, dilation, groups)
    if bias is not None:
        out += bias[:, None, None]
    # The im2col matrix is kept (memory for speed): the backward's dweight multiplies it again.
    return out, Conv2dCache(x_padded, weight.copy(), bias is not None, stride, pads, dilation, groups, columns)


def conv2d_backward(dout, cache: Conv2dCache):
    """Gradients ``(dx, dweight, dbias)`` of ``conv2d_forward``; ``dbias`` is None without a bias."""
    dout = check.float_array("conv2d_backward", "dout", dout, ndim=4)
    x_padded, weight, has_bias, stride, pads, dilation, groups, columns = cache
    kernel = weight.shape[2:]
    input_hw = (x_padded.shape[1] - pads[0] - pads[1], x_padded.shape[2] - pads[2] - pads[3])
    dx = input_grad(dout, weight, stride, dilation, groups, pads, input_hw)
    dweight = weight_grad(dout, x_padded, kernel, stride, dilation, groups, columns)
    dbias = dout.sum(axis=(0, 2, 3)) if has_bias else None
    return dx, dweight, dbias
