"""2-D convolution (PyTorch's ``conv2d``: cross-correlation), forward and backward.

A convolution is a sum over the kernel offsets ``(a, b)``: each output pixel adds, for
every offset, the input pixel the offset reads times the kernel's ``(C_out, C_in)`` slice
at ``(a, b)``. With the input laid out channels last, ``(N, H, W, C_in)``, the pixels one
offset reads for every output form a ``(pixels, C_in)`` matrix, and the whole layer is
matmuls. There are two ways to arrange them; the layer picks one by size
(``_by_offsets``):

* **im2col** (the classic): copy, for every output pixel, the ``kh*kw`` pixels its window
  reads side by side into one ``(N*Ho*Wo, kh*kw*C_in)`` matrix, the "columns", and multiply
  it by the flattened kernels: one big matmul. The copy holds every input pixel ``kh*kw``
  times (9x the input for 3x3): cheap for small layers, where one big matmul beats many
  thin ones (few channels, strides, small images).
* **offset by offset** (stride 1, large layers): flattened, the padded input is one list
  of pixels, and output pixel ``p`` of the padded-size grid reads, at offset ``(a, b)``,
  pixel ``p + a*dilation_h*Wp + b*dilation_w``. So the pixels one offset reads are one
  contiguous *slice* of that list, a matrix BLAS reads as it is: no copy at all, and the
  output is ``kh*kw`` matmuls summed. The grid computes outputs at every padded position
  too (the last ``kh - 1`` rows and ``kw - 1`` columns of each image are read and thrown
  away, 13% extra work at 32x32); memory stays ~3 images instead of ~11. NumPy's matmul
  cannot add into its output (BLAS's beta), so each offset's product is one more pass.

The backward pass is the same sums read the other way:

* ``dweight`` at offset ``(a, b)`` is (the pixels that offset read).T @ ``dout``: the
  forward's columns again (kept in the cache) for im2col, the same slices for the offsets;
* ``dx`` sends every output pixel's gradient back through each offset: ``dout @`` the
  kernel slice, added into the pixels that offset read (a strided slice of the padded
  input, distinct pixels within one offset; overlapping windows add up across offsets).
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
    padded = np.empty((batch, height + top + bottom, width + left + right, channels), dtype=x.dtype)
    padded[:, top : top + height, left : left + width] = x.transpose(0, 2, 3, 1)
    # Zeros on the border only (np.zeros would write the whole array once more).
    padded[:, :top] = padded[:, top + height :] = 0
    padded[:, :, :left] = padded[:, :, left + width :] = 0
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


# Above this size the im2col columns are not worth their copy: writing (fresh memory) and
# re-reading them costs more than kh*kw thinner matmuls on slices. Measured on the
# benchmark machine, forward alone: 16x64x32x32 (36 MB of columns) is 1.4x faster offset
# by offset, 8x64x32x32 (18 MB) 1.2x faster with im2col. (With the backward the crossover
# is lower, ~9 MB: col2im writes as much again; one limit keeps a layer's passes alike.)
COLUMNS_LIMIT_BYTES = 24 * 2**20


def _by_offsets(x_padded_shape, kernel: Pair, stride: Pair, out_size: Pair, itemsize: int) -> bool:
    """Whether to run offset by offset (stride 1, columns over ``COLUMNS_LIMIT_BYTES``) rather than im2col."""
    batch, _, _, channels = x_padded_shape
    columns_bytes = batch * out_size[0] * out_size[1] * kernel[0] * kernel[1] * channels * itemsize
    return stride == (1, 1) and columns_bytes > COLUMNS_LIMIT_BYTES


def _out_size(padded_hw, kernel: Pair, stride: Pair, dilation: Pair) -> Pair:
    return (window_count(padded_hw[0], kernel[0], stride[0], dilation[0]), window_count(padded_hw[1], kernel[1], stride[1], dilation[1]))


def _grouped(matrix: np.ndarray, groups: int) -> np.ndarray:
    """A ``(rows, G * k)`` matrix as the ``(G, rows, k)`` view of its groups' columns."""
    return matrix.reshape(len(matrix), groups, -1).transpose(1, 0, 2)


def _offset_kernels(weight: np.ndarray, groups: int) -> np.ndarray:
    """The kernel slice of every offset ``(a, b)``, row-major: ``(kh*kw, G, Cg, Cout/G)``."""
    out_channels, group_channels, kernel_h, kernel_w = weight.shape
    kernels = weight.reshape(groups, out_channels // groups, group_channels, kernel_h * kernel_w)
    return np.ascontiguousarray(kernels.transpose(3, 0, 2, 1))


def _shifts(padded_width: int, kernel: Pair, dilation: Pair) -> list[int]:
    """How far along the flattened padded input each offset ``(a, b)`` reads, row-major."""
    return [a * dilation[0] * padded_width + b * dilation[1] for a in range(kernel[0]) for b in range(kernel[1])]


def _grid_output(grid_rows: np.ndarray, padded_shape, out_size: Pair) -> np.ndarray:
    """The real outputs of a padded-size grid ``(N*Hp*Wp, C)``, as an (N, C, Ho, Wo) view."""
    batch, height, width, _ = padded_shape
    grid = grid_rows.reshape(batch, height, width, -1)
    return grid[:, : out_size[0], : out_size[1]].transpose(0, 3, 1, 2)


def _sum_of_shifted_products(pixels: np.ndarray, shifts: list[int], kernels: np.ndarray, groups: int, into: str) -> np.ndarray:
    """The heart of the offset-by-offset passes, on a flattened padded grid ``pixels`` (R, C).

    ``into='out'`` (forward): ``out[p] = sum_k pixels[p + shift_k] @ kernels[k]``.
    ``into='in'`` (dx): ``grad[p + shift_k] += pixels[p] @ kernels[k]`` for every k.
    Rows are the grid positions whose every shift stays inside the list; the rest stay 0.
    """
    rows = len(pixels) - shifts[-1]
    out_width = kernels.shape[1] * kernels.shape[3]
    result = np.empty((len(pixels), out_width), dtype=pixels.dtype)
    product = np.empty((groups, rows, out_width // groups), dtype=pixels.dtype)
    for k, shift in enumerate(shifts):
        source = pixels[shift : shift + rows] if into == "out" else pixels[:rows]
        target = result[:rows] if into == "out" else result[shift : shift + rows]
        if k == 0:  # the first offset writes its product straight into place
            result[rows:] = 0
            np.matmul(_grouped(source, groups), kernels[k], out=_grouped(target, groups))
            continue
        np.matmul(_grouped(source, groups), kernels[k], out=product)
        _grouped(target, groups)[...] += product
    return result


def _correlate_by_offsets(x_padded: np.ndarray, weight: np.ndarray, dilation: Pair, groups: int) -> np.ndarray:
    """Stride-1 correlation offset by offset (see the module docstring): (N, C_out, Ho, Wo) view."""
    kernel = weight.shape[2:]
    out_size = _out_size(x_padded.shape[1:3], kernel, (1, 1), dilation)
    pixels = x_padded.reshape(-1, x_padded.shape[3])
    grid = _sum_of_shifted_products(pixels, _shifts(x_padded.shape[2], kernel, dilation), _offset_kernels(weight, groups), groups, "out")
    return _grid_output(grid, x_padded.shape, out_size)


def correlate(x_padded: np.ndarray, weight: np.ndarray, stride: Pair, dilation: Pair, groups: int) -> np.ndarray:
    """Grouped cross-correlation of a padded, channels-last input; the output is (N, C_out, Ho, Wo).
    The core of the forward pass."""
    return _correlate_with_columns(x_padded, weight, stride, dilation, groups)[0]


def _correlate_with_columns(x_padded, weight, stride, dilation, groups):
    """``correlate``, also returning the im2col matrix it multiplied (None offset by offset)."""
    batch, height, width, _ = x_padded.shape
    out_channels, group_channels, kernel_h, kernel_w = weight.shape
    out_size = _out_size((height, width), (kernel_h, kernel_w), stride, dilation)
    if _by_offsets(x_padded.shape, (kernel_h, kernel_w), stride, out_size, x_padded.itemsize):
        return _correlate_by_offsets(x_padded, weight, dilation, groups), None
    columns = _columns(x_padded, (kernel_h, kernel_w), stride, dilation, groups, out_size)
    # Kernels flattened in the columns' (kh, kw, Cg) order: (G, Cout/G, kh*kw*Cg).
    kernels = weight.reshape(groups, out_channels // groups, group_channels, kernel_h * kernel_w).transpose(0, 1, 3, 2)
    out = columns @ kernels.reshape(groups, out_channels // groups, -1).transpose(0, 2, 1)  # (G, N*Ho*Wo, Cout/G)
    out = out.reshape(groups, batch, *out_size, out_channels // groups).transpose(1, 0, 4, 2, 3)
    # With one group, a (channels-last) view of the product; grouped channels need a copy.
    return (out[:, 0] if groups == 1 else out.reshape(batch, out_channels, *out_size)), columns


def _dout_grid(dout: np.ndarray, padded_hw: Pair) -> np.ndarray:
    """``dout`` on the padded-size grid of the offset-by-offset passes, flattened
    (N*Hp*Wp, C_out): zero where the grid has no real output."""
    batch, out_channels, out_h, out_w = dout.shape
    grid = np.zeros((batch, *padded_hw, out_channels), dtype=dout.dtype)
    grid[:, :out_h, :out_w] = dout.transpose(0, 2, 3, 1)
    return grid.reshape(-1, out_channels)


def _input_grad_padded(dout: np.ndarray, weight: np.ndarray, stride: Pair, dilation: Pair, groups: int, padded_hw: Pair, dout_grid=None) -> np.ndarray:
    """The gradient of the padded, channels-last input: (N, Hp, Wp, C_in)."""
    batch, out_channels, out_h, out_w = dout.shape
    _, group_channels, kernel_h, kernel_w = weight.shape
    in_channels = groups * group_channels
    # Per offset, dout @ the kernel slice transposed (Cout/G -> Cg): (kh*kw, G, Cout/G, Cg).
    kernels_t = _offset_kernels(weight, groups).transpose(0, 1, 3, 2)
    if _by_offsets((batch, *padded_hw, in_channels), (kernel_h, kernel_w), stride, (out_h, out_w), dout.itemsize):
        grid = _dout_grid(dout, padded_hw) if dout_grid is None else dout_grid
        pixels = _sum_of_shifted_products(grid, _shifts(padded_hw[1], (kernel_h, kernel_w), dilation), kernels_t, groups, "in")
        return pixels.reshape(batch, *padded_hw, in_channels)
    # col2im: what each offset sends back, for every window at once (one matmul), then added
    # offset by offset into the pixels that offset read (distinct within one offset). Each
    # addition runs along the input's rows or along its channels, whichever is longer
    # contiguous (a 1-channel LeNet input: rows; 64 channels of 16x16: channels).
    if stride[1] == 1 and out_w >= group_channels:
        return _col2im_channels_first(dout, kernels_t, (kernel_h, kernel_w), stride, dilation, groups, padded_hw)
    dout_rows = _grouped(dout.transpose(0, 2, 3, 1).reshape(-1, out_channels), groups)
    sent_back = np.matmul(dout_rows, kernels_t)  # offset-major, (kh*kw, G, N*Ho*Wo, Cg)
    dx_padded = np.zeros((batch, *padded_hw, in_channels), dtype=dout.dtype)
    for k in range(kernel_h * kernel_w):
        rows, cols = _offset_slices(k, (kernel_h, kernel_w), stride, dilation, (out_h, out_w))
        target = dx_padded[:, rows, cols].reshape(batch, out_h, out_w, groups, group_channels)
        target += sent_back[k].reshape(groups, batch, out_h, out_w, group_channels).transpose(1, 2, 3, 0, 4)
    return dx_padded


def _offset_slices(k: int, kernel: Pair, stride: Pair, dilation: Pair, out_size: Pair) -> tuple[slice, slice]:
    """The rows and columns of the padded input that kernel offset ``k`` (row-major) reads."""
    a, b = divmod(k, kernel[1])
    rows = slice(a * dilation[0], a * dilation[0] + (out_size[0] - 1) * stride[0] + 1, stride[0])
    cols = slice(b * dilation[1], b * dilation[1] + (out_size[1] - 1) * stride[1] + 1, stride[1])
    return rows, cols


def _col2im_channels_first(dout, kernels_t, kernel, stride, dilation, groups, padded_hw) -> np.ndarray:
    """col2im adding along image rows: the padded input's gradient, computed channels first
    (N, C_in, Hp, Wp) and returned seen channels last (N, Hp, Wp, C_in), as the other passes'."""
    batch, out_channels, out_h, out_w = dout.shape
    offsets, _, _, group_channels = kernels_t.shape
    # (G, kh*kw*Cg, Cout/G) @ (N, G, Cout/G, Ho*Wo): per image, every offset's contribution.
    kernel_rows = kernels_t.transpose(1, 0, 3, 2).reshape(groups, offsets * group_channels, out_channels // groups)
    sent_back = np.matmul(kernel_rows, dout.reshape(batch, groups, out_channels // groups, out_h * out_w))
    sent_back = sent_back.reshape(batch, groups, offsets, group_channels, out_h, out_w)
    dx_padded = np.zeros((batch, groups, group_channels, *padded_hw), dtype=dout.dtype)
    for k in range(offsets):
        rows, cols = _offset_slices(k, kernel, stride, dilation, (out_h, out_w))
        dx_padded[..., rows, cols] += sent_back[:, :, k]
    return dx_padded.reshape(batch, groups * group_channels, *padded_hw).transpose(0, 2, 3, 1)


def input_grad(dout: np.ndarray, weight: np.ndarray, stride: Pair, dilation: Pair, groups: int, padding: Padding4, input_hw: Pair, dout_grid=None) -> np.ndarray:
    """Gradient with respect to the (unpadded) input, (N, C_in, H, W): every output pixel's
    gradient sent back through each kernel offset (see the module docstring)."""
    top, bottom, left, right = padding
    padded_hw = (input_hw[0] + top + bottom, input_hw[1] + left + right)
    dx_padded = _input_grad_padded(dout, weight, stride, dilation, groups, padded_hw, dout_grid)
    # Back to the input's own pixels (a view): drop the padding. Pixels no window read
    # (past the last window, with a stride) were never added to: their gradient is 0.
    return dx_padded[:, top : top + input_hw[0], left : left + input_hw[1]].transpose(0, 3, 1, 2)


def weight_grad(dout: np.ndarray, x_padded: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, groups: int, columns=None, dout_grid=None) -> np.ndarray:
    """Gradient with respect to the kernels: at each offset, the pixels it read (the
    forward's ``columns``, when given) correlated with ``dout``."""
    batch, height, width, channels = x_padded.shape
    _, out_channels, out_h, out_w = dout.shape
    group_channels = channels // groups
    if columns is None and _by_offsets(x_padded.shape, kernel, stride, (out_h, out_w), x_padded.itemsize):
        grid = _dout_grid(dout, (height, width)) if dout_grid is None else dout_grid
        pixels = x_padded.reshape(-1, channels)
        shifts = _shifts(width, kernel, dilation)
        rows = len(pixels) - shifts[-1]
        # Every offset's slice of the pixels as one strided (kh, kw, rows, C) view: one
        # batched matmul (kh*kw*G of them) with no copy.
        s_pixel, s_channel = pixels.strides
        offsets = as_strided(
            pixels, shape=(*kernel, rows, groups, group_channels),
            strides=(dilation[0] * width * s_pixel, dilation[1] * s_pixel, s_pixel, group_channels * s_channel, s_channel),
            writeable=False,
        )
        grad = offsets.transpose(0, 1, 3, 4, 2) @ _grouped(grid[:rows], groups)  # (kh, kw, G, Cg, Cout/G)
        return grad.transpose(2, 4, 3, 0, 1).reshape(out_channels, group_channels, *kernel)
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
    # The im2col matrix (None offset by offset) is kept, memory for speed: the backward's
    # dweight multiplies it again. It is below COLUMNS_LIMIT_BYTES by construction.
    return out, Conv2dCache(x_padded, weight.copy(), bias is not None, stride, pads, dilation, groups, columns)


def conv2d_backward(dout, cache: Conv2dCache):
    """Gradients ``(dx, dweight, dbias)`` of ``conv2d_forward``; ``dbias`` is None without a bias."""
    dout = check.float_array("conv2d_backward", "dout", dout, ndim=4)
    x_padded, weight, has_bias, stride, pads, dilation, groups, columns = cache
    kernel = weight.shape[2:]
    padded_hw = x_padded.shape[1:3]
    input_hw = (padded_hw[0] - pads[0] - pads[1], padded_hw[1] - pads[2] - pads[3])
    # Offset by offset, dx and dweight both read dout laid on the padded grid: lay it once.
    grid = None
    if _by_offsets(x_padded.shape, kernel, stride, dout.shape[2:], x_padded.itemsize):
        grid = _dout_grid(dout, padded_hw)
    dx = input_grad(dout, weight, stride, dilation, groups, pads, input_hw, grid)
    dweight = weight_grad(dout, x_padded, kernel, stride, dilation, groups, columns, grid)
    dbias = dout.sum(axis=(0, 2, 3)) if has_bias else None
    return dx, dweight, dbias
