"""layers.py's affine and relu layers, its two losses, and its naive convolution and max
pool (the normalisations and dropout are in ``norms`` and ``dropout``)."""

from __future__ import annotations

import math

import numpy as np
import torch.nn.functional as F
from hypothesis import assume
from hypothesis import strategies as st

from ...op_entry import OpEntry
from ...registry import BY_NAME
from ...sample import Sample
from ...strategies import SEEDS, edge_or_range, make_array, moved_off
from .. import Binding
from ..adapting import course_entry, returned
from .common import (
    LAYERS,
    adapted_pair,
    as_written,
    binding,
    corner,
    course_layout_entry,
    draw_data,
    draw_sizes,
    forward_only_loss,
    learner_pair,
    shaped,
    with_gradient,
)

# ---------------------------------------------------------------- affine and relu


@st.composite
def affine_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None, relu: bool = False) -> Sample:
    """``x`` of shape (N, d_1, ..., d_k), k from 1 to 3 (typical: k >= 2, flattened by the
    layer), ``w`` (D, M) with D = d_1 * ... * d_k, ``b`` (M,)."""
    small = for_gradcheck
    typical = draw(st.booleans(), label="typical shape")
    if typical:
        dims = draw(st.lists(st.integers(2, 3), min_size=2, max_size=3), label="d_1, ..., d_k")
    else:
        dims = draw(st.lists(edge_or_range(1, 3 if small else 4), min_size=1, max_size=3), label="d_1, ..., d_k")
    width = math.prod(dims)
    batch, out = draw_sizes(draw, ("N", "M"), 3 if small else 5, typical)
    if typical:
        batch, out = moved_off(batch, width), moved_off(out, width)
    seed, values, rng = draw_data(draw, for_gradcheck, has_kinks=relu)
    x, w, b = make_array(rng, (batch, *dims), values), make_array(rng, (width, out), values), make_array(rng, (out,), values)
    if relu and for_gradcheck:  # finite differences across relu's kink mean nothing
        assume(np.abs(x.reshape(batch, -1) @ w + b).min() > 1e-4)
    return Sample({"x": x, "w": w, "b": b}, {}, seed, values)


def affine_twin(x, w, b):
    return F.linear(x.flatten(1), w.T, b)


AFFINE_HINTS = {
    "out": "affine_forward flattens each example: out = x.reshape(N, -1) @ w + b, with w of shape (D, M).",
    "dx": "dx = dout @ w.T, reshaped back to x's shape (N, d_1, ..., d_k).",
    "dw": "dw = x.reshape(N, -1).T @ dout: the flattened examples, summed over the batch.",
    "db": "db = dout.sum(axis=0): summed over the batch, not averaged.",
}
FLATTEN_HINT = "affine_forward must flatten each example first: x.reshape(x.shape[0], -1) @ w + b (x has shape (N, d_1, ..., d_k))."


def affine_adapter(stem: str = "affine", *, flattens: bool = True, db_sums: str = "dout.sum(axis=0)"):
    """The learner's affine-like pair (affine, affine_relu, temporal_affine), its gradients'
    shapes checked in the course's terms."""

    def make(module):
        forward_name, backward_name = f"{stem}_forward", f"{stem}_backward"
        learner_forward, learner_backward = learner_pair(module, forward_name, backward_name)
        flatten_hint = FLATTEN_HINT.replace("affine_forward", forward_name) if flattens else ""

        def not_flattened(x, w, problem: str) -> AssertionError:
            return AssertionError(f"{forward_name} {problem}, for x of shape {x.shape} and w of shape {w.shape}\n  hint: {flatten_hint}")

        def forward(x, w, b):
            # The output's shape is checked here, so that the backward's checks never run on
            # a wrong one; an x not flattened says so whether the product raises or not.
            shape = (x.shape[0], w.shape[1]) if flattens else (*x.shape[:-1], w.shape[1])
            try:
                out, cache = learner_forward(x, w, b)
            except ValueError as error:
                if not (flatten_hint and x.ndim > 2):
                    raise
                raise not_flattened(x, w, f"raised ValueError: {error}") from None
            if flatten_hint and np.shape(out) != shape:
                raise not_flattened(x, w, f"returned out.shape={np.shape(out)}, but should be {shape}")
            return shaped(forward_name, "out", out, shape), (cache, x.shape, w.shape)

        def backward(dout, cache):
            course_cache, x_shape, w_shape = cache
            dx, dw, db = learner_backward(dout, course_cache)
            return (
                shaped(backward_name, "dx", dx, x_shape, hint="reshape dx back to x's shape: (dout @ w.T).reshape(x.shape)"),
                shaped(backward_name, "dw", dw, w_shape),
                shaped(backward_name, "db", db, w_shape[1:], hint=f"db sums dout over every axis but the last: {db_sums}"),
            )

        return adapted_pair(forward, backward, learner_backward)

    return make


def affine_entry() -> OpEntry:
    return course_layout_entry(
        "affine", array_args=("x", "w", "b"), twin=affine_twin, samples=affine_samples, hints=AFFINE_HINTS,
        edge_cases=(corner("batch 1, x of four axes flattened to D = 12", {"x": (1, 2, 3, 2), "w": (12, 3), "b": (3,)}),),
    )


# ------------------------------------------------------------------------- losses


@st.composite
def class_scores_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    """Scores ``x`` (N, C) and integer labels ``y`` (N,), N and C from 1."""
    rows, classes = draw_sizes(draw, ("N", "C"), 6, draw(st.booleans(), label="typical shape"))
    seed, values, rng = draw_data(draw, for_gradcheck, extra=("large",))
    return Sample({"x": make_array(rng, (rows, classes), values), "y": rng.integers(0, classes, size=rows)}, {}, seed, values)


def softmax_loss_twin(x, y):
    return with_gradient(lambda scores: F.cross_entropy(scores, y.long()), x)


def svm_loss_twin(x, y):
    # multi_margin_loss divides each example's sum over the wrong classes by C; the course does not.
    return with_gradient(lambda scores: F.multi_margin_loss(scores, y.long(), margin=1.0) * scores.shape[1], x)


SOFTMAX_HINTS = {
    "loss": "softmax_loss averages over the N examples: loss = -mean(log_softmax(x)[range(N), y]); subtract each row's "
    "max before exp (scores of 1e4 overflow).",
    "dx": "dx = (softmax(x) - onehot(y)) / N.",
}
SVM_HINTS = {
    "loss": "svm_loss sums max(0, x[i, j] - x[i, y[i]] + 1) over the wrong classes j of each example, then averages over "
    "the N examples (the correct class adds nothing).",
    "dx": "Each positive margin adds 1 / N to dx[i, j] and -1 / N to dx[i, y[i]]; a margin of exactly 0 is not positive.",
}
LOSS_NOTE = (
    "softmax_loss, svm_loss: forward-only, each returns (loss, dx), both averaged over the N examples; compared with PyTorch's "
    "cross_entropy, and multi_margin_loss (margin 1) times C (PyTorch divides each example's sum by the number of classes C, "
    "the course does not)"
)
LOSS_LEFT_OUT = {"reduction": "the course's losses always average over the N examples", "ignore_index": "the course's losses ignore no label"}


def loss_entry(name: str, twin, hints: dict[str, str]) -> OpEntry:
    return course_layout_entry(
        name, array_args=("x", "y"), grad_args=("x",), outputs=("loss", "dx"), has_backward=False, twin=twin, samples=class_scores_samples, hints=hints,
    )


# ------------------------------------------------------------------- convolution

CONV_LEFT_OUT = {
    "pair arguments": "conv_param has one stride and one pad for both axes",
    "string padding": "conv_param['pad'] is a number of pixels",
    "dilation": "the course's convolution has no dilation",
    "groups": "the course's convolution has no groups",
    "bias=None": "the course's convolution always adds b",
}


def conv_naive(module):
    """conv_forward_naive as the API's conv2d (the same (N, C, H, W) layout and weight
    shape): stride and padding passed in conv_param."""
    learner_forward, learner_backward = learner_pair(module, "conv_forward_naive", "conv_backward_naive")

    def forward(x, weight, bias, stride=1, padding=0):
        out, cache = learner_forward(x, weight, bias, {"stride": stride, "pad": padding})
        return returned("conv_forward_naive", "out", out, ndim=4), (cache, x.shape, weight.shape)

    def backward(dout, cache):
        course_cache, x_shape, weight_shape = cache
        dx, dw, db = learner_backward(dout, course_cache)
        return (
            shaped("conv_backward_naive", "dx", dx, x_shape),
            shaped("conv_backward_naive", "dw", dw, weight_shape),
            shaped("conv_backward_naive", "db", db, weight_shape[:1], hint="db sums dout over the batch and both spatial axes"),
        )

    return adapted_pair(forward, backward, learner_backward)


def conv_naive_entry() -> OpEntry:
    """The API's conv2d entry, with corners the naive loops get wrong most (pad 0)."""
    plain = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1}
    return course_entry(
        BY_NAME["conv2d"], "conv_naive",
        edge_cases=(
            corner("pad 0, batch 1, the kernel as large as the non-square input", {"x": (1, 2, 3, 5), "weight": (2, 2, 3, 5), "bias": (2,)}, **plain),
            corner("pad 0, stride 2, H != W", {"x": (2, 3, 5, 7), "weight": (4, 3, 3, 2), "bias": (4,)}, **{**plain, "stride": 2}),
        ),
    )


# ------------------------------------------------------------------- max pooling


@st.composite
def max_pool_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    """(N, C, H, W), ``pool_height`` and ``pool_width`` (different when typical), one
    ``stride``, sizes as the course assumes: (H - pool_height) % stride == 0 (the windows
    tile the input; one window as large as the input a third of the time). No ties: the
    course does not say which tied maximum gets the gradient."""
    typical = draw(st.booleans(), label="typical shape")
    window = st.integers(2, 3) if typical else edge_or_range(1, 3)
    height, width = draw(window, label="pool_height"), draw(window, label="pool_width")
    stride = draw(edge_or_range(1, 3), label="stride")
    outputs = draw_sizes(draw, ("H_out", "W_out"), 3 if for_gradcheck else 4, typical)
    sides = [height + (outputs[0] - 1) * stride, width + (outputs[1] - 1) * stride]
    batch, channels = draw_sizes(draw, ("N", "C"), 2 if for_gradcheck else 3, typical)
    seed = draw(SEEDS, label="seed")
    values = "distinct" if for_gradcheck else "normal"  # normal draws tie with probability 0
    x = make_array(np.random.default_rng(seed), (batch, channels, *sides), values)
    return Sample({"x": x}, {"pool_height": height, "pool_width": width, "stride": stride}, seed, values)


def max_pool_twin(x, pool_height, pool_width, stride):
    return F.max_pool2d(x, (pool_height, pool_width), stride)


def max_pool(module):
    learner_forward, learner_backward = learner_pair(module, "max_pool_forward_naive", "max_pool_backward_naive")

    def forward(x, pool_height, pool_width, stride):
        out, cache = learner_forward(x, {"pool_height": pool_height, "pool_width": pool_width, "stride": stride})
        return out, (cache, x.shape)

    def backward(dout, cache):
        course_cache, x_shape = cache
        return shaped("max_pool_backward_naive", "dx", learner_backward(dout, course_cache), x_shape)

    return adapted_pair(forward, backward, learner_backward)


POOL_LEFT_OUT = {
    "padding": "max_pool_forward_naive has no padding",
    "pair strides": "pool_param has one stride for both axes (pool_height and pool_width may differ, and do)",
    "dilation": "max_pool_forward_naive has no dilation",
    "ceil_mode": "the course assumes (H - pool_height) % stride == 0: the windows tile the input",
    "tied maxima": "the course does not say which tied maximum gets the gradient (np.argmax: the first; a mask of the "
    "maximum: all of them), so the data holds no ties",
}
POOL_HINTS = {
    "out": "H' = 1 + (H - pool_height) // stride, W' = 1 + (W - pool_width) // stride; each window starts at "
    "(i * stride, j * stride) and spans pool_height rows and pool_width columns.",
    "dx": "The gradient of each window goes to the position of its maximum (rows pool_height, columns pool_width); "
    "overlapping windows add up.",
}


def max_pool_entry() -> OpEntry:
    return course_layout_entry(
        "max_pool_naive", array_args=("x",), twin=max_pool_twin, samples=max_pool_samples, hints=POOL_HINTS,
        edge_cases=(
            corner("batch 1, one window as large as the non-square input", {"x": (1, 3, 3, 2)}, pool_height=3, pool_width=2, stride=1),
            corner("1 x 1 windows, stride 2, H != W", {"x": (2, 2, 5, 7)}, pool_height=1, pool_width=1, stride=2),
        ),
    )


# ----------------------------------------------------------------------- bindings


def fully_connected_bindings() -> tuple[Binding, ...]:
    """affine, relu and the two losses: the first rows of layers.py's."""
    return (
        binding(
            affine_entry(), "affine_forward", "affine_backward", affine_adapter(), group=LAYERS,
            left_out={"bias=None": "affine_forward always adds b"},
            conventions=("affine_forward/affine_backward: x of shape (N, d_1, ..., d_k) flattened to (N, D); w of shape (D, M), the transpose of PyTorch's Linear weight",),
        ),
        # The API's relu entry: CS231n's relu pair has the API's layout.
        binding(course_entry(BY_NAME["relu"], "relu"), "relu_forward", "relu_backward", as_written("relu_forward", "relu_backward"), group=LAYERS),
        binding(
            loss_entry("softmax_loss", softmax_loss_twin, SOFTMAX_HINTS), "softmax_loss", None, forward_only_loss("softmax_loss"),
            left_out=LOSS_LEFT_OUT, conventions=(LOSS_NOTE,), group=LAYERS,
        ),
        binding(
            loss_entry("svm_loss", svm_loss_twin, SVM_HINTS), "svm_loss", None, forward_only_loss("svm_loss"),
            left_out=LOSS_LEFT_OUT, conventions=(LOSS_NOTE,), group=LAYERS,
        ),
    )


def convolution_bindings() -> tuple[Binding, ...]:
    """conv_forward_naive and max_pool_forward_naive, with their backwards."""
    return (
        binding(
            conv_naive_entry(), "conv_forward_naive", "conv_backward_naive", conv_naive, group=LAYERS,
            left_out={**CONV_LEFT_OUT, "pair arguments": "conv_forward_naive takes one stride and one pad (conv_param) for both axes"},
            conventions=("conv_forward_naive/conv_backward_naive: stride and pad from conv_param",),
        ),
        binding(
            max_pool_entry(), "max_pool_forward_naive", "max_pool_backward_naive", max_pool, left_out=POOL_LEFT_OUT, group=LAYERS,
            conventions=(
                "max_pool_forward_naive/max_pool_backward_naive: pool_height, pool_width and one stride from pool_param, no padding, "
                "sizes with (H - pool_height) % stride == 0 as the course assumes, no tied maxima",
            ),
        ),
    )
