"""Course 4, week 1 ("Convolutional Model: step by step"): channels last, ``A_prev`` (m, n_H,
n_W, n_C), ``W`` (f, f, n_C_prev, n_C), ``b`` (1, 1, 1, n_C), ``hparameters`` with ``stride``,
``pad`` and ``f``.

``conv_forward`` and ``pool_forward`` are the API's ``conv2d`` and poolings restricted to the
course's space (square kernels, one stride, no ties for max pooling), converted to and from
the course's layout. The helpers (``zero_pad``, ``conv_single_step``,
``create_mask_from_window``, ``distribute_value``) are entries of their own, in the course's
layout."""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType

import numpy as np
import torch
from hypothesis import strategies as st

from ...op_entry import EdgeCase, OpEntry
from ...registry import BY_NAME
from ...sample import Sample
from ...strategies import SEEDS, edge_or_range, make_array, value_kinds
from .. import Binding
from ..adapting import course_entry, learner_function, returned
from .common import COURSE_4, checked, course_call, own_layout_entry, unpack

ROWS_AND_COLUMNS = " h and vert_start go down the rows (n_H, axis 1), w and horiz_start across the columns (n_W, axis 2): swapped, they differ on non-square inputs."

# ------------------------------------------------------------------- zero_pad, one step

@st.composite
def _zero_pad_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    shape = tuple(draw(edge_or_range(1, bound), label=axis) for axis, bound in zip(("m", "n_H", "n_W", "n_C"), (3, 5, 5, 3)))
    pad = draw(edge_or_range(0, 3), label="pad")
    seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
    return Sample({"X": make_array(np.random.default_rng(seed), shape, values)}, {"pad": pad}, seed, values)


def _zero_pad_twin(X: torch.Tensor, pad: int) -> torch.Tensor:
    return torch.nn.functional.pad(X, (0, 0, pad, pad, pad, pad))


def _zero_pad(module: ModuleType):
    zero_pad = module.zero_pad

    def forward(X, pad):
        with course_call():
            X_pad = zero_pad(X, pad)
        m, n_H, n_W, n_C = X.shape
        hint = "pad axes 1 and 2 only: np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode='constant', constant_values=(0, 0))"
        return checked("zero_pad", "X_pad", X_pad, (m, n_H + 2 * pad, n_W + 2 * pad, n_C), hint=hint), None

    return forward, None


@st.composite
def _single_step_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    f = draw(edge_or_range(1, 4), label="f")
    channels = draw(edge_or_range(1, 3), label="n_C_prev")
    seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
    rng = np.random.default_rng(seed)
    arrays = {"a_slice_prev": make_array(rng, (f, f, channels), values), "W": make_array(rng, (f, f, channels), values), "b": make_array(rng, (1, 1, 1), values)}
    return Sample(arrays, {}, seed, values)


def _single_step_twin(a_slice_prev: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a_slice_prev * W).sum() + b.reshape(())


def _single_step(module: ModuleType):
    conv_single_step = module.conv_single_step

    def forward(a_slice_prev, W, b):
        with course_call():
            Z = conv_single_step(a_slice_prev, W, b)
        # 2021+: a float64; 2017: Z + b left a (1, 1, 1) array. Both are the course's.
        if isinstance(Z, (np.ndarray, np.generic)) and np.shape(Z) in ((), (1, 1, 1)):
            Z = np.asarray(Z).reshape(())
        hint = "conv_single_step returns one number: np.sum(a_slice_prev * W) + b (b.item() or np.squeeze(b) for the bias)"
        return returned("conv_single_step", "Z", Z, shape=(), hint=hint), None

    return forward, None


# ---------------------------------------------------------------------------------- conv

def _square_kernels(sample: Sample) -> Sample:
    """The course's kernels are f x f: the drawn kernel cropped to its smaller side (the
    input still holds a window)."""
    weight = sample.arrays["weight"]
    side = min(weight.shape[2:])
    return sample.changed({"weight": weight[:, :, :side, :side].copy()})


def _conv_output(size: int, f: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - f) // stride + 1


def _conv(module: ModuleType):
    conv_forward, conv_backward = module.conv_forward, learner_function(module, "conv_backward")

    def forward(x, weight, bias, stride=1, padding=0):
        hparameters = {"stride": stride, "pad": padding, "f": weight.shape[2]}
        with course_call(pad=padding):
            result = conv_forward(x.transpose(0, 2, 3, 1), weight.transpose(2, 3, 1, 0), bias.reshape(1, 1, 1, -1), hparameters)
        Z, cache = unpack("conv_forward", result, ("Z", "cache"))
        m, _, n_H_prev, n_W_prev = x.shape
        f = weight.shape[2]
        expected = (m, _conv_output(n_H_prev, f, stride, padding), _conv_output(n_W_prev, f, stride, padding), weight.shape[0])
        hint = "n_H = int((n_H_prev - f + 2 * pad) / stride) + 1, and n_W the same from n_W_prev"
        return checked("conv_forward", "Z", Z, expected, hint=hint, pad=padding).transpose(0, 3, 1, 2), (cache, x.shape, weight.shape, padding)

    def backward(dout, cache):
        course_cache, (batch, channels, height, width), (filters, _, side, _), pad = cache
        assert conv_backward is not None
        with course_call(pad=pad):
            result = conv_backward(dout.transpose(0, 2, 3, 1), course_cache)
        dA_prev, dW, db = unpack("conv_backward", result, ("dA_prev", "dW", "db"))
        dA_prev = checked("conv_backward", "dA_prev", dA_prev, (batch, height, width, channels), pad=pad)
        dW = checked("conv_backward", "dW", dW, (side, side, channels, filters))
        db = checked("conv_backward", "db", db, (1, 1, 1, filters), hint="db sums dZ over the batch and both spatial axes")
        return dA_prev.transpose(0, 3, 1, 2), dW.transpose(3, 2, 0, 1), db.reshape(filters)

    return forward, backward if conv_backward else None


def _conv_case(shape, filters: int, f: int, stride: int, pad: int, seed: int):
    def make() -> Sample:
        rng = np.random.default_rng(seed)
        arrays = {"x": rng.standard_normal(shape), "weight": rng.standard_normal((filters, shape[1], f, f)), "bias": rng.standard_normal(filters)}
        return Sample(arrays, {"stride": stride, "padding": pad, "dilation": 1, "groups": 1}, seed, "normal")

    return make


# The course's corners, in every profile: pad 0 (where [pad:-pad] is empty), a window as
# large as the input, non-square inputs, batch 1.
CONV_EDGE_CASES = (
    EdgeCase("pad 0, stride 1, H != W", _conv_case((2, 3, 4, 6), 2, 3, 1, 0, 0)),
    EdgeCase("a window as large as the input, pad 0", _conv_case((2, 2, 3, 3), 3, 3, 1, 0, 1)),
    EdgeCase("batch 1, pad 2, stride 2, H != W", _conv_case((1, 2, 5, 3), 2, 2, 2, 2, 2)),
)
CONV_HINTS = {
    "out": "Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c]) on the zero-padded input, "
    "vert_start = h * stride (rows), horiz_start = w * stride (columns), each window f x f." + ROWS_AND_COLUMNS,
    "dx": "dA_prev: da_prev_pad[vert_start:vert_end, horiz_start:horiz_end, :] += W[:, :, :, c] * dZ[i, h, w, c] over every "
    "window (h along rows, w along columns), then the padding cut off with da_prev_pad[pad:pad + n_H_prev, pad:pad + n_W_prev, :] "
    "([pad:-pad] is empty when pad = 0).",
    "dweight": "dW[:, :, :, c] += a_slice * dZ[i, h, w, c], summed over the batch and every window (no 1/m).",
    "dbias": "db[:, :, :, c] += dZ[i, h, w, c], summed over the batch and every window (no 1/m).",
}
CONV_LEFT_OUT = {
    "pair arguments": "conv_forward takes one stride and one pad (hparameters) for both axes",
    "string padding": "conv_forward's pad is a number of pixels",
    "dilation": "conv_forward has no dilation",
    "groups": "conv_forward has no groups",
    "bias=None": "conv_forward always adds b, of shape (1, 1, 1, n_C)",
}


# ------------------------------------------------------------------------------- pooling

def _pool_windows(sample: Sample) -> np.ndarray:
    """Every window of a plain pooling call (no padding, no dilation, floor mode):
    (N, C, H_out, W_out, f, f)."""
    x, f, stride = sample.arrays["x"], sample.kwargs["kernel_size"], sample.kwargs["stride"]
    return np.lib.stride_tricks.sliding_window_view(x, (f, f), axis=(2, 3))[:, :, ::stride, ::stride]


def _no_tied_maximum(sample: Sample) -> bool:
    windows = _pool_windows(sample)
    flat = windows.reshape(*windows.shape[:4], -1)
    return bool(((flat == flat.max(axis=-1, keepdims=True)).sum(axis=-1) == 1).all())


def _untied(sample: Sample) -> Sample:
    """Integer-valued draws (tie-heavy on purpose) as distinct values: the course's max-pool
    backward gives every tied maximum the gradient, PyTorch the first one only."""
    if sample.values not in ("integers", "ties"):
        return sample
    x = sample.arrays["x"]
    return replace(sample, arrays={"x": make_array(np.random.default_rng(sample.seed), x.shape, "distinct")}, values="distinct")


def _pool_case(shape, f: int, stride: int, seed: int, *, average: bool):
    def make() -> Sample:
        x = make_array(np.random.default_rng(seed), shape, "distinct")
        extra = {"ceil_mode": False, "count_include_pad": True} if average else {"dilation": 1, "ceil_mode": False}
        return Sample({"x": x}, {"kernel_size": f, "stride": stride, "padding": 0, **extra}, seed, "distinct")

    return make


def _pool_edge_cases(*, average: bool) -> tuple[EdgeCase, ...]:
    return (
        EdgeCase("a window as large as the input", _pool_case((2, 3, 3, 3), 3, 1, 0, average=average)),
        EdgeCase("a window as tall as the input, H != W, stride 2", _pool_case((1, 2, 2, 5), 2, 2, 1, average=average)),
        EdgeCase("overlapping windows, stride 1, H != W, batch 1", _pool_case((1, 2, 4, 6), 3, 1, 2, average=average)),
        EdgeCase("a stride larger than the window", _pool_case((2, 1, 7, 5), 2, 3, 3, average=average)),
    )


POOL_LEFT_OUT = {
    "pair arguments": "pool_forward takes one f and one stride (hparameters) for both axes",
    "stride=None": "hparameters always gives the stride",
    "padding": "pool_forward has no padding",
    "ceil_mode": "pool_forward's n_H = int(1 + (n_H_prev - f) / stride) floors",
}


def _pool(mode: str):
    def make(module: ModuleType):
        pool_forward, pool_backward = module.pool_forward, learner_function(module, "pool_backward")

        def forward(x, kernel_size, stride):
            hparameters = {"f": kernel_size, "stride": stride}
            with course_call():
                result = pool_forward(x.transpose(0, 2, 3, 1), hparameters, mode)
            A, cache = unpack("pool_forward", result, ("A", "cache"))
            m, channels, n_H_prev, n_W_prev = x.shape
            expected = (m, (n_H_prev - kernel_size) // stride + 1, (n_W_prev - kernel_size) // stride + 1, channels)
            hint = "n_H = int(1 + (n_H_prev - f) / stride), n_W the same from n_W_prev, n_C = n_C_prev"
            return checked("pool_forward", "A", A, expected, hint=hint).transpose(0, 3, 1, 2), (cache, x.shape)

        def backward(dout, cache):
            course_cache, (m, channels, height, width) = cache
            assert pool_backward is not None
            with course_call():
                dA_prev = pool_backward(dout.transpose(0, 2, 3, 1), course_cache, mode)
            return checked("pool_backward", "dA_prev", dA_prev, (m, height, width, channels)).transpose(0, 3, 1, 2)

        return forward, backward if pool_backward else None

    return make


POOL_HINTS = {
    "max": {
        "out": "A[i, h, w, c] = np.max of the f x f window at vert_start = h * stride (rows), horiz_start = w * stride (columns), "
        "channel c; no padding." + ROWS_AND_COLUMNS,
        "dx": "dA_prev[i, window, c] += create_mask_from_window(a_prev_slice) * dA[i, h, w, c], the window moving by the "
        "stride (vert_start = h * stride); overlapping windows add up.",
    },
    "average": {
        "out": "A[i, h, w, c] = np.mean of the f x f window at vert_start = h * stride (rows), horiz_start = w * stride "
        "(columns), channel c; no padding." + ROWS_AND_COLUMNS,
        "dx": "dA_prev[i, window, c] += distribute_value(dA[i, h, w, c], (f, f)), the window moving by the stride "
        "(vert_start = h * stride); overlapping windows add up.",
    },
}


def _pool_entry(mode: str) -> OpEntry:
    if mode == "max":
        return course_entry(
            BY_NAME["max_pool2d"], "pool_max", change=_untied, keep=_no_tied_maximum, edge_cases=_pool_edge_cases(average=False), hints=POOL_HINTS["max"],
        )
    return course_entry(BY_NAME["avg_pool2d"], "pool_average", edge_cases=_pool_edge_cases(average=True), hints=POOL_HINTS["average"])


# ----------------------------------------------------------- the pooling backward helpers

@st.composite
def _window_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    shape = (draw(edge_or_range(1, 4), label="f_H"), draw(edge_or_range(1, 4), label="f_W"))
    seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck, extra=("ties",)), label="values")
    return Sample({"x": make_array(np.random.default_rng(seed), shape, values)}, {}, seed, values)


def _mask_twin(x: torch.Tensor) -> torch.Tensor:
    return (x == x.max()).to(torch.float64)


def _mask(module: ModuleType):
    create_mask_from_window = module.create_mask_from_window

    def forward(x):
        with course_call():
            mask = create_mask_from_window(x)
        mask = checked("create_mask_from_window", "mask", mask, x.shape, hint="mask = (x == np.max(x)): one entry per entry of the window")
        return mask.astype(np.float64), None

    return forward, None


@st.composite
def _distribute_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    shape = (draw(edge_or_range(1, 4), label="n_H"), draw(edge_or_range(1, 4), label="n_W"))
    seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
    return Sample({"dz": make_array(np.random.default_rng(seed), (), values)}, {"shape": shape}, seed, values)


def _distribute_twin(dz: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    return torch.ones(shape, dtype=dz.dtype) * dz / (shape[0] * shape[1])


def _distribute(module: ModuleType):
    distribute_value = module.distribute_value

    def forward(dz, shape):
        with course_call():
            a = distribute_value(dz[()], shape)  # the course passes one element of dA: a numpy float64
        return checked("distribute_value", "a", a, shape, hint="a = np.ones(shape) * dz / (n_H * n_W)"), None

    return forward, None


# ------------------------------------------------------------------------------ bindings

def _pool_binding(mode: str) -> Binding:
    extra = {"dilation": "pool_forward has no dilation"} if mode == "max" else {"count_include_pad=False": "pool_forward has no padding"}
    tie_note = (
        "; the course's max-pool backward (create_mask_from_window) sends the gradient to every tied maximum of a window, PyTorch's to "
        "the first one only: inputs with tied maxima are left out of the draws" if mode == "max" else "; distribute_value spreads dA evenly over each window"
    )
    return Binding(
        _pool_entry(mode),
        f"pool_forward ({mode})",
        f"pool_backward ({mode})",
        _pool(mode),
        left_out={**POOL_LEFT_OUT, **extra},
        conventions=(
            f"pool_forward/pool_backward ({mode}, passed as mode): channels last (m, n_H, n_W, n_C), converted from and to PyTorch's "
            f"(N, C, H, W); hparameters {{'f', 'stride'}}, f x f windows, no padding, floor mode{tie_note}",
        ),
        requires=("pool_forward",),  # the rows name a mode; the learner's function takes it as an argument
        group=COURSE_4,
    )


def bindings() -> tuple[Binding, ...]:
    """Course 4, week 1's functions, in the notebook's order."""
    return (
        Binding(
            own_layout_entry(
                title="zero_pad",
                name="zero_pad", array_args=("X",), signature=("X", "pad"), outputs=("X_pad",), twin=_zero_pad_twin, samples=_zero_pad_samples,
                has_backward=False, hints={"X_pad": "Pad axes 1 and 2 (n_H, n_W) with pad zeros on each side, never the batch or channels."},
            ),
            "zero_pad", None, _zero_pad,
            conventions=("zero_pad: X (m, n_H, n_W, n_C) padded with zeros on axes 1 and 2 only; pad from 0",),
            converts_layout=False,
            group=COURSE_4,
        ),
        Binding(
            own_layout_entry(
                title="conv_single_step",
                name="conv_single_step", array_args=("a_slice_prev", "W", "b"), outputs=("Z",), twin=_single_step_twin, samples=_single_step_samples,
                has_backward=False, hints={"Z": "Z = np.sum(a_slice_prev * W) + b: every product of the window, the bias added once."},
            ),
            "conv_single_step", None, _single_step,
            conventions=(
                "conv_single_step: one window a_slice_prev (f, f, n_C_prev), W of the same shape and b (1, 1, 1); it may return a float64 "
                "(2021+) or a (1, 1, 1) array (2017): both are accepted",
            ),
            converts_layout=False,
            group=COURSE_4,
        ),
        Binding(
            course_entry(BY_NAME["conv2d"], "conv", change=_square_kernels, hints=CONV_HINTS, edge_cases=CONV_EDGE_CASES),
            "conv_forward", "conv_backward", _conv,
            left_out=CONV_LEFT_OUT,
            conventions=(
                "conv_forward/conv_backward: channels last (m, n_H, n_W, n_C), W (f, f, n_C_prev, n_C) and b (1, 1, 1, n_C), "
                "converted from and to PyTorch's (N, C, H, W), (C_out, C_in, kH, kW) and (C_out,); square f x f kernels; "
                "hparameters {'stride', 'pad'} (and 'f'), pad from 0; conv_backward sums dW and db over the batch (no 1/m)",
            ),
            group=COURSE_4,
        ),
        _pool_binding("max"),
        _pool_binding("average"),
        Binding(
            own_layout_entry(
                title="create_mask_from_window",
                name="create_mask_from_window", array_args=("x",), outputs=("mask",), twin=_mask_twin, samples=_window_samples, has_backward=False,
                hints={"mask": "mask = (x == np.max(x)): True at every maximum of the window, tied maxima included."},
            ),
            "create_mask_from_window", None, _mask,
            conventions=("create_mask_from_window: True at every maximum of the window, all tied maxima included (the course's convention), compared as 0/1",),
            converts_layout=False,
            group=COURSE_4,
        ),
        Binding(
            own_layout_entry(
                title="distribute_value",
                name="distribute_value", array_args=("dz",), signature=("dz", "shape"), outputs=("a",), twin=_distribute_twin,
                samples=_distribute_samples, has_backward=False, hints={"a": "a = np.ones(shape) * dz / (n_H * n_W), with (n_H, n_W) = shape."},
            ),
            "distribute_value", None, _distribute,
            conventions=("distribute_value(dz, shape): dz (one element of dA, a numpy float64) / (n_H * n_W) in every entry of an array of that shape",),
            converts_layout=False,
            group=COURSE_4,
        ),
    )
