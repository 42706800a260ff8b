"""Hypothesis strategies that draw valid layer calls: shapes and hyperparameters together.

Data is not drawn element by element (slow, and shrinks poorly); a strategy draws a seed
and a kind of values and makes the arrays with NumPy. ``values='integers'`` gives small
integers stored as floats: max-pool windows with tied maxima, and sums that are exact.

Edge cases are drawn on purpose with ``edge_or_range``: the smallest legal size (kernel
as large as the padded input, output size 1), 1x1 kernels, batch 1, strides larger than
the kernel, depthwise groups.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from .sample import Sample

SEEDS = st.integers(0, 2**32 - 1)


def edge_or_range(low: int, high: int) -> st.SearchStrategy[int]:
    """``low`` a third of the time, else anything in ``[low, high]``."""
    return st.one_of(st.just(low), st.integers(low, high))


def make_array(rng: np.random.Generator, shape, values: str) -> np.ndarray:
    if values == "integers":
        return rng.integers(-3, 4, size=shape).astype(np.float64)
    if values == "distinct":
        # Well-separated values: no two within 1e-2 of each other, so finite differences
        # (eps 1e-6) never cross a max-pool tie.
        return (rng.permutation(int(np.prod(shape))).reshape(shape) * 1e-2 - 1.0).astype(np.float64)
    return rng.standard_normal(shape)


def pairs(element: st.SearchStrategy[int]) -> st.SearchStrategy[int | tuple[int, int]]:
    """An int, or an (h, w) pair: both spellings PyTorch takes."""
    return st.one_of(element, st.tuples(element, element))


def as_pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def value_kinds(for_gradcheck: bool, *, has_ties: bool = False) -> st.SearchStrategy[str]:
    if for_gradcheck:
        return st.just("distinct" if has_ties else "normal")
    return st.sampled_from(["normal", "integers"])


# ---------------------------------------------------------------------------- conv2d


@st.composite
def conv2d_samples(draw, *, for_gradcheck: bool = False) -> Sample:
    small = for_gradcheck  # gradcheck costs two forward passes per input element
    batch = draw(edge_or_range(1, 2 if small else 3), label="N")
    depthwise = draw(st.booleans(), label="depthwise")
    groups = draw(st.integers(1, 3), label="groups")
    in_per_group = 1 if depthwise else draw(edge_or_range(1, 2 if small else 3), label="C_in/groups")
    out_per_group = draw(edge_or_range(1, 2 if small else 3), label="C_out/groups")
    kernel = draw(st.tuples(edge_or_range(1, 3), edge_or_range(1, 3 if small else 4)), label="kernel")
    stride = draw(pairs(edge_or_range(1, 3)), label="stride")
    dilation = draw(pairs(edge_or_range(1, 2)), label="dilation")
    span = [as_pair(dilation)[a] * (kernel[a] - 1) + 1 for a in (0, 1)]
    if as_pair(stride) == (1, 1) and draw(st.booleans(), label="string padding"):
        padding = draw(st.sampled_from(["same", "valid"]), label="padding")
        pads = [(span[a] - 1) if padding == "same" else 0 for a in (0, 1)]  # total of both sides
    else:
        padding = draw(pairs(st.integers(0, 2)), label="padding")
        pads = [2 * as_pair(padding)[a] for a in (0, 1)]
    # The smallest input that holds one window: the kernel as large as the padded input.
    size = [draw(edge_or_range(max(1, span[a] - pads[a]), max(1, span[a] - pads[a]) + (3 if small else 5)), label=("H", "W")[a]) for a in (0, 1)]

    seed = draw(SEEDS, label="seed")
    values = draw(value_kinds(for_gradcheck), label="values")
    rng = np.random.default_rng(seed)
    channels = groups * in_per_group
    out_channels = groups * out_per_group
    x = make_array(rng, (batch, channels, *size), values)
    weight = make_array(rng, (out_channels, in_per_group, *kernel), values)
    bias = make_array(rng, (out_channels,), values) if draw(st.booleans(), label="bias") else None
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return Sample({"x": x, "weight": weight, "bias": bias}, kwargs, seed, values)


# --------------------------------------------------------------------------- pooling


def every_window_reads_input(size: int, kernel: int, stride: int, pad: int, dilation: int, out: int) -> bool:
    """Whether each window holds at least one real (non-padding) pixel. With dilation and
    padding a max-pool window can read padding only; PyTorch then returns -inf and its
    backward writes out of bounds (a crash), so such calls are not drawn."""
    offsets = (np.arange(out) * stride - pad)[:, None] + np.arange(kernel)[None, :] * dilation
    return bool(((offsets >= 0) & (offsets < size)).any(axis=1).all())


def pooled_size(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    span = dilation * (kernel - 1) + 1
    out = (size + 2 * pad - span + (stride - 1 if ceil_mode else 0)) // stride + 1
    return out - 1 if ceil_mode and (out - 1) * stride >= size + pad else out


@st.composite
def _pool_geometry(draw, *, with_dilation: bool, for_gradcheck: bool):
    kernel = draw(st.tuples(edge_or_range(1, 3), edge_or_range(1, 4)), label="kernel_size")
    stride = draw(st.one_of(st.none(), pairs(edge_or_range(1, 4))), label="stride")
    dilation = draw(pairs(edge_or_range(1, 2)), label="dilation") if with_dilation else 1
    padding = draw(pairs(st.integers(0, 2)), label="padding")
    # PyTorch requires padding <= kernel // 2 on each axis.
    padding = tuple(min(as_pair(padding)[a], kernel[a] // 2) for a in (0, 1))
    ceil_mode = draw(st.booleans(), label="ceil_mode")
    strides, dilations = as_pair(stride if stride is not None else kernel), as_pair(dilation)
    span = [dilations[a] * (kernel[a] - 1) + 1 for a in (0, 1)]
    size = [draw(edge_or_range(max(1, span[a] - 2 * padding[a]), max(1, span[a] - 2 * padding[a]) + (4 if for_gradcheck else 7)), label=("H", "W")[a]) for a in (0, 1)]
    for a in (0, 1):
        out = pooled_size(size[a], kernel[a], strides[a], padding[a], dilations[a], ceil_mode)
        assume(every_window_reads_input(size[a], kernel[a], strides[a], padding[a], dilations[a], out))
    return kernel, stride, padding, dilation, ceil_mode, size


def _pool_input(draw, size, *, for_gradcheck: bool, has_ties: bool):
    batch = draw(edge_or_range(1, 2 if for_gradcheck else 3), label="N")
    channels = draw(edge_or_range(1, 2 if for_gradcheck else 3), label="C")
    seed = draw(SEEDS, label="seed")
    values = draw(value_kinds(for_gradcheck, has_ties=has_ties), label="values")
    return make_array(np.random.default_rng(seed), (batch, channels, *size), values), seed, values


@st.composite
def max_pool2d_samples(draw, *, for_gradcheck: bool = False) -> Sample:
    kernel, stride, padding, dilation, ceil_mode, size = draw(_pool_geometry(with_dilation=True, for_gradcheck=for_gradcheck))
    x, seed, values = _pool_input(draw, size, for_gradcheck=for_gradcheck, has_ties=True)
    kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode}
    return Sample({"x": x}, kwargs, seed, values)


@st.composite
def avg_pool2d_samples(draw, *, for_gradcheck: bool = False) -> Sample:
    kernel, stride, padding, _, ceil_mode, size = draw(_pool_geometry(with_dilation=False, for_gradcheck=for_gradcheck))
    count_include_pad = draw(st.booleans(), label="count_include_pad")
    x, seed, values = _pool_input(draw, size, for_gradcheck=for_gradcheck, has_ties=False)
    kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode, "count_include_pad": count_include_pad}
    return Sample({"x": x}, kwargs, seed, values)


@st.composite
def adaptive_avg_pool2d_samples(draw, *, for_gradcheck: bool = False) -> Sample:
    limit = 5 if for_gradcheck else 9
    size = draw(st.tuples(edge_or_range(1, limit), edge_or_range(1, limit)), label="H, W")
    # Output sizes that divide the input, that do not (overlapping windows), and larger ones.
    out_axis = [st.integers(1, size[a] + 2) for a in (0, 1)]
    output_size = draw(
        st.one_of(
            st.integers(1, max(size) + 2),
            st.tuples(st.one_of(st.none(), out_axis[0]), st.one_of(st.none(), out_axis[1])),
        ),
        label="output_size",
    )
    x, seed, values = _pool_input(draw, size, for_gradcheck=for_gradcheck, has_ties=False)
    return Sample({"x": x}, {"output_size": output_size}, seed, values)
