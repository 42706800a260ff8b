"""Convolution and pooling: strategies of valid calls, bad calls, and registry entries."""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import torch_impl

from ..op_entry import FLOAT_DATA_ONLY, EdgeCase, ErrorInput, Feature, OpEntry, Tolerance, normal_array
from ..sample import Sample
from ..strategies import SEEDS, as_pair, edge_or_range, enabled, make_array, moved_off, pairs, spatial_sides, value_kinds

# ---------------------------------------------------------------------------- conv2d


@st.composite
def conv2d_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    small = for_gradcheck  # gradcheck costs two forward passes per input element
    on = enabled(features)
    # Half the calls typical (kernels of 2 and more, H != W, N != C), half near the edges.
    typical = draw(st.booleans(), label="typical shape")
    batch = draw(edge_or_range(1, 2 if small else 3), label="N")
    depthwise = draw(st.booleans(), label="depthwise") if on("groups") else False
    groups = draw(st.integers(1, 3), label="groups") if on("groups") else 1
    in_per_group = 1 if depthwise else draw(edge_or_range(1, 2 if small else 3), label="C_in/groups")
    out_per_group = draw(edge_or_range(1, 2 if small else 3), label="C_out/groups")
    side = st.integers(2, 3) if typical else edge_or_range(1, 3)
    kernel = draw(st.tuples(side, st.integers(2, 3 if small else 4) if typical else edge_or_range(1, 3 if small else 4)), label="kernel")
    stride = draw(pairs(edge_or_range(1, 3), allowed=on("pair arguments")), label="stride")
    dilation = draw(pairs(st.integers(1, 2), allowed=on("pair arguments")), label="dilation") if on("dilation") else 1
    span = [as_pair(dilation)[a] * (kernel[a] - 1) + 1 for a in (0, 1)]
    if as_pair(stride) == (1, 1) and on("string padding") and draw(st.booleans(), label="string padding"):
        padding = draw(st.sampled_from(["same", "valid"]), label="padding")
        pads = [(span[a] - 1) if padding == "same" else 0 for a in (0, 1)]  # total of both sides
    else:
        padding = draw(pairs(st.integers(0, 2), allowed=on("pair arguments")), label="padding")
        pads = [2 * as_pair(padding)[a] for a in (0, 1)]
    # The smallest input that holds one window: the kernel as large as the padded input.
    size = spatial_sides(draw, (max(1, span[0] - pads[0]), max(1, span[1] - pads[1])), 3 if small else 5, typical=typical)

    seed = draw(SEEDS, label="seed")
    values = draw(value_kinds(for_gradcheck), label="values")
    rng = np.random.default_rng(seed)
    channels = groups * in_per_group
    out_channels = groups * out_per_group
    batch = moved_off(batch, channels) if typical else batch
    x = make_array(rng, (batch, channels, *size), values)
    weight = make_array(rng, (out_channels, in_per_group, *kernel), values)
    bias = make_array(rng, (out_channels,), values) if not on("bias=None") or draw(st.booleans(), label="bias") else None
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
def _pool_geometry(draw, *, with_dilation: bool, for_gradcheck: bool, on, typical: bool):
    side, wide = (st.integers(2, 3), st.integers(2, 4)) if typical else (edge_or_range(1, 3), edge_or_range(1, 4))
    kernel = draw(st.tuples(side, wide) if on("pair arguments") else side, label="kernel_size")
    strides_drawn = pairs(edge_or_range(1, 4), allowed=on("pair arguments"))
    stride = draw(st.one_of(st.none(), strides_drawn) if on("stride=None") else strides_drawn, label="stride")
    dilation = draw(pairs(st.integers(1, 2), allowed=on("pair arguments")), label="dilation") if with_dilation and on("dilation") else 1
    padding = draw(pairs(st.integers(0, 2), allowed=on("pair arguments")), label="padding") if on("padding") else 0
    kernels = as_pair(kernel)
    # PyTorch requires padding <= kernel // 2 on each axis.
    pads = tuple(min(as_pair(padding)[a], kernels[a] // 2) for a in (0, 1))
    padding = pads if on("pair arguments") else pads[0]  # an int: the kernel is square then
    ceil_mode = draw(st.booleans(), label="ceil_mode") if on("ceil_mode") else False
    strides, dilations = as_pair(stride if stride is not None else kernel), as_pair(dilation)
    span = [dilations[a] * (kernels[a] - 1) + 1 for a in (0, 1)]
    size = spatial_sides(draw, (max(1, span[0] - 2 * pads[0]), max(1, span[1] - 2 * pads[1])), 4 if for_gradcheck else 7, typical=typical)
    for a in (0, 1):
        out = pooled_size(size[a], kernels[a], strides[a], pads[a], dilations[a], ceil_mode)
        assume(every_window_reads_input(size[a], kernels[a], strides[a], pads[a], dilations[a], out))
    return kernel, stride, padding, dilation, ceil_mode, size


def _pool_input(draw, size, *, for_gradcheck: bool, has_ties: bool, typical: bool):
    batch = draw(edge_or_range(1, 2 if for_gradcheck else 3), label="N")
    channels = draw(edge_or_range(1, 2 if for_gradcheck else 3), label="C")
    batch = moved_off(batch, channels) if typical else batch
    seed = draw(SEEDS, label="seed")
    values = draw(value_kinds(for_gradcheck, has_kinks=has_ties, extra=("ties",) if has_ties else ()), label="values")
    return make_array(np.random.default_rng(seed), (batch, channels, *size), values), seed, values


@st.composite
def max_pool2d_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    typical = draw(st.booleans(), label="typical shape")  # windows of 2 and more, H != W, N != C
    geometry = _pool_geometry(with_dilation=True, for_gradcheck=for_gradcheck, on=enabled(features), typical=typical)
    kernel, stride, padding, dilation, ceil_mode, size = draw(geometry)
    x, seed, values = _pool_input(draw, size, for_gradcheck=for_gradcheck, has_ties=True, typical=typical)
    kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode}
    return Sample({"x": x}, kwargs, seed, values)


@st.composite
def avg_pool2d_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    on = enabled(features)
    typical = draw(st.booleans(), label="typical shape")  # windows of 2 and more, H != W, N != C
    kernel, stride, padding, _, ceil_mode, size = draw(_pool_geometry(with_dilation=False, for_gradcheck=for_gradcheck, on=on, typical=typical))
    count_include_pad = draw(st.booleans(), label="count_include_pad") if on("count_include_pad=False") else True
    x, seed, values = _pool_input(draw, size, for_gradcheck=for_gradcheck, has_ties=False, typical=typical)
    kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode, "count_include_pad": count_include_pad}
    return Sample({"x": x}, kwargs, seed, values)


@st.composite
def adaptive_avg_pool2d_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    on = enabled(features)
    limit = 5 if for_gradcheck else 9
    typical = draw(st.booleans(), label="typical shape")  # H != W, N != C
    size = spatial_sides(draw, (1, 1), limit - 1, typical=typical)
    # Output sizes that divide the input, that do not (overlapping windows), and larger ones.
    out_axis = [st.one_of(st.none(), st.integers(1, size[a] + 2)) if on("None in output_size") else st.integers(1, size[a] + 2) for a in (0, 1)]
    sizes = [st.integers(1, max(size) + 2), *([st.tuples(*out_axis)] if on("pair output_size") else [])]
    output_size = draw(st.one_of(*sizes), label="output_size")
    x, seed, values = _pool_input(draw, size, for_gradcheck=for_gradcheck, has_ties=False, typical=typical)
    return Sample({"x": x}, {"output_size": output_size}, seed, values)


def _conv_errors() -> tuple[ErrorInput, ...]:
    x, w = normal_array(2, 4, 6, 6), normal_array(3, 4, 3, 3)
    return (
        ErrorInput("x with the wrong channel count", (normal_array(2, 5, 6, 6), w), {}, ValueError, "x"),
        ErrorInput("groups that do not divide the channels", (x, normal_array(3, 2, 3, 3)), {"groups": 2}, ValueError, "weight"),
        ErrorInput("kernel larger than the padded input", (normal_array(1, 4, 2, 2), w), {"padding": 0}, ValueError, "weight"),
        ErrorInput("dilated kernel larger than the padded input", (normal_array(1, 4, 4, 4), w), {"dilation": 2}, ValueError, "weight"),
        ErrorInput("zero stride", (x, w), {"stride": 0}, ValueError, "stride"),
        ErrorInput("negative padding", (x, w), {"padding": (1, -1)}, ValueError, "padding"),
        ErrorInput("unknown padding string", (x, w), {"padding": "full"}, ValueError, "padding"),
        ErrorInput("padding='same' with a stride", (x, w), {"padding": "same", "stride": 2}, ValueError, "padding"),
        ErrorInput("integer-typed input", (np.ones((2, 4, 6, 6), dtype=np.int64), w), {}, TypeError, "x"),
        ErrorInput("3-D input", (normal_array(4, 6, 6), w), {}, ValueError, "x"),
        ErrorInput("bias of the wrong length", (x, w, normal_array(4)), {}, ValueError, "bias"),
        ErrorInput("weight of another dtype", (x, w.astype(np.float32)), {}, TypeError, "weight"),
        ErrorInput("float stride", (x, w), {"stride": 1.5}, TypeError, "stride"),
    )


def _pool_errors(*, with_dilation: bool) -> tuple[ErrorInput, ...]:
    x = normal_array(2, 3, 5, 5)
    errors: tuple[ErrorInput, ...] = (
        ErrorInput("zero kernel_size", (x,), {"kernel_size": 0}, ValueError, "kernel_size"),
        ErrorInput("zero stride", (x,), {"kernel_size": 2, "stride": 0}, ValueError, "stride"),
        ErrorInput("padding over half the kernel", (x,), {"kernel_size": 3, "padding": 2}, ValueError, "padding"),
        ErrorInput("kernel larger than the padded input", (normal_array(1, 1, 2, 2),), {"kernel_size": 3}, ValueError, "kernel_size"),
        ErrorInput("integer-typed input", (np.ones((2, 3, 5, 5), dtype=np.int32),), {"kernel_size": 2}, TypeError, "x"),
        ErrorInput("2-D input", (normal_array(5, 5),), {"kernel_size": 2}, ValueError, "x"),
        ErrorInput("kernel_size as a float", (x,), {"kernel_size": 2.0}, TypeError, "kernel_size"),
        ErrorInput("ceil_mode as a string", (x,), {"kernel_size": 2, "ceil_mode": "yes"}, TypeError, "ceil_mode"),
    )
    if with_dilation:
        errors += (ErrorInput("zero dilation", (x,), {"kernel_size": 2, "dilation": 0}, ValueError, "dilation"),)
    return errors


def _conv_plain() -> Sample:
    return Sample({"x": normal_array(2, 2, 5, 5), "weight": normal_array(3, 2, 3, 3), "bias": normal_array(3)}, {"stride": 1, "padding": 1, "dilation": 1, "groups": 1})


CONV_FEATURES = (
    Feature("pair arguments", probe=lambda s: s.changed(stride=(1, 2), padding=(1, 0))),
    Feature("string padding", "padding", lambda s: s.changed(padding="same")),
    Feature("dilation", "dilation", lambda s: s.changed(dilation=2)),
    Feature("groups", "groups", lambda s: s.changed({"weight": normal_array(4, 1, 3, 3), "bias": normal_array(4)}, groups=2)),
    Feature("bias=None", "bias", lambda s: s.changed({"bias": None})),
)


def _pool_plain(*, with_dilation: bool):
    def plain() -> Sample:
        kwargs = {"kernel_size": 2, "stride": 2, "padding": 0, "dilation": 1, "ceil_mode": False} if with_dilation else {"kernel_size": 2, "stride": 2, "padding": 0, "ceil_mode": False, "count_include_pad": True}
        return Sample({"x": normal_array(2, 2, 6, 6)}, kwargs)

    return plain


def _pool_features(*, with_dilation: bool) -> tuple[Feature, ...]:
    features = (
        Feature("pair arguments", probe=lambda s: s.changed(kernel_size=(2, 3), stride=(2, 1))),
        Feature("stride=None", "stride", lambda s: s.changed(stride=None)),
        Feature("padding", "padding", lambda s: s.changed(padding=1)),
        Feature("ceil_mode", "ceil_mode", lambda s: s.changed(kernel_size=3, ceil_mode=True)),
    )
    if with_dilation:
        return (*features, Feature("dilation", "dilation", lambda s: s.changed(dilation=2)))
    return (*features, Feature("count_include_pad=False", "count_include_pad", lambda s: s.changed(padding=1, count_include_pad=False)))


def _max_pool_case(shape, kernel_size, stride, values: str = "ties", seed: int = 0):
    """A plain max-pool call (no padding, no dilation, floor mode) on tie-heavy data."""

    def make() -> Sample:
        x = make_array(np.random.default_rng(seed), shape, values) if values != "constant" else np.full(shape, 0.5)
        kwargs = {"kernel_size": kernel_size, "stride": stride, "padding": 0, "dilation": 1, "ceil_mode": False}
        return Sample({"x": x}, kwargs, seed, values)

    return make


# Ties send the gradient to the first maximum in row-major window order: the plainest
# configuration, every window tied somewhere, in every profile.
MAX_POOL_EDGE_CASES = (
    EdgeCase("ties in 2x2 windows, stride 2, H != W", _max_pool_case((2, 3, 4, 6), 2, 2)),
    EdgeCase("ties in overlapping 3x3 windows, stride 1, H != W", _max_pool_case((2, 2, 5, 7), 3, 1, seed=1)),
    EdgeCase("ties in overlapping 2x2 windows, stride 1", _max_pool_case((1, 2, 4, 5), 2, 1, values="integers", seed=2)),
    EdgeCase("a constant input: every window one tie", _max_pool_case((1, 2, 4, 6), 2, 2, values="constant")),
    EdgeCase("ties in 2x3 windows", _max_pool_case((2, 2, 6, 7), (2, 3), (2, 3), seed=3), features=("pair arguments",)),
)

CONV_FLOAT32 = Tolerance(
    1e-5, 1e-4,
    "float32 sums of up to ~100 products of values up to 3, accumulated in another order "
    "than PyTorch's kernels (oneDNN/cuDNN): a few float32 ulps of a sum near 100",
)

ENTRIES: tuple[OpEntry, ...] = (
    OpEntry(
        name="conv2d",
        array_args=("x", "weight", "bias"),
        twin=torch_impl.conv2d,
        samples=conv2d_samples,
        stricter_than_pytorch={"3-D input": "PyTorch takes an unbatched (C, H, W) image too; the API's conv2d takes a batch (N, C, H, W)"},
        features=CONV_FEATURES,
        plain_call=_conv_plain,
        error_inputs=_conv_errors(),
        tolerances={"float32": CONV_FLOAT32},
        hints={
            "out": "PyTorch's conv2d is cross-correlation: the kernel is not flipped. Check the output size "
            "(H + 2p - d(k-1) - 1) // s + 1, the padding on both sides, and which input channels each group reads.",
            "dx": "dx is the transposed convolution: dout spread by the stride (zeros between), kernels flipped, "
            "dilation kept; rows past the last window get zero gradient.",
            "dweight": "dweight correlates the (padded, dilated, strided) input windows with dout, summed over the batch.",
            "dbias": "dbias is dout summed over N, H_out and W_out (not averaged).",
        },
    ),
    OpEntry(
        name="max_pool2d",
        array_args=("x",),
        twin=torch_impl.max_pool2d,
        samples=max_pool2d_samples,
        stricter_than_pytorch={"integer-typed input": FLOAT_DATA_ONLY},
        edge_cases=MAX_POOL_EDGE_CASES,
        features=_pool_features(with_dilation=True),
        plain_call=_pool_plain(with_dilation=True),
        error_inputs=_pool_errors(with_dilation=True),
        hints={
            "out": "Padding is -inf (never the maximum); ceil_mode keeps a last window only if it starts inside "
            "the input or the left padding.",
            "dx": "With tied maxima PyTorch sends the gradient to the first maximum in row-major window order "
            "only; overlapping windows add their gradients.",
        },
    ),
    OpEntry(
        name="avg_pool2d",
        array_args=("x",),
        twin=torch_impl.avg_pool2d,
        samples=avg_pool2d_samples,
        features=_pool_features(with_dilation=False),
        plain_call=_pool_plain(with_dilation=False),
        error_inputs=_pool_errors(with_dilation=False),
        hints={
            "out": "count_include_pad=True divides by the window size including padding but not the ceil-mode "
            "overhang; False divides by the real pixels only.",
            "dx": "Each pixel receives dout / divisor from every window that contains it.",
        },
    ),
    OpEntry(
        name="adaptive_avg_pool2d",
        array_args=("x",),
        twin=torch_impl.adaptive_avg_pool2d,
        samples=adaptive_avg_pool2d_samples,
        stricter_than_pytorch={"zero output size": "PyTorch returns an empty output for output_size 0; the API asks for at least one output"},
        features=(
            Feature("pair output_size", probe=lambda s: s.changed(output_size=(2, 3))),
            Feature("None in output_size", probe=lambda s: s.changed(output_size=(None, 2))),
        ),
        plain_call=lambda: Sample({"x": normal_array(2, 2, 5, 5)}, {"output_size": 2}),
        error_inputs=(
            ErrorInput("zero output size", (normal_array(1, 2, 4, 4),), {"output_size": 0}, ValueError, "output_size"),
            ErrorInput("integer-typed input", (np.ones((1, 2, 4, 4), dtype=np.int64),), {"output_size": 2}, TypeError, "x"),
            ErrorInput("output_size of three values", (normal_array(1, 2, 4, 4),), {"output_size": (2, 2, 2)}, TypeError, "output_size"),
        ),
        hints={
            "out": "Window o spans [floor(o * H / H_out), ceil((o + 1) * H / H_out)): windows differ in size and "
            "may overlap when H_out does not divide H.",
        },
    ),
)
