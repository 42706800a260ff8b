"""layer_utils.py's sandwich layers (affine_relu, conv_relu, conv_relu_pool): each checked
as one layer, against PyTorch's composition of the layers it chains."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from ...registry import BY_NAME
from ...sample import Sample
from ...strategies import edge_or_range
from .. import Binding
from .common import LAYER_UTILS, adapted_pair, binding, course_layout_entry, learner_pair, shaped
from .layers import AFFINE_HINTS, CONV_LEFT_OUT, affine_adapter, affine_samples, affine_twin

SANDWICH_NOTE = (
    "affine_relu_*, conv_relu_*, conv_relu_pool_* (layer_utils.py): checked as one layer, against PyTorch's composition "
    "(relu of the affine or convolution, max_pool2d of that)"
)
CONV_HINTS = {
    "out": "A cross-correlation of the zero-padded input (pad on every side) plus b; H' = 1 + (H + 2 * pad - HH) // stride.",
    "dx": "dx: each window's gradient w[f] * dout[n, f, i, j] added into the padded input's gradient, then the padding "
    "cut off with [pad:pad + H] (not [pad:-pad], empty when pad = 0).",
    "dw": "dw[f] sums each input window times dout[n, f, i, j] over the batch and the output positions.",
    "db": "db = dout.sum(axis=(0, 2, 3)): summed, not averaged.",
}


def conv_samples(*, for_gradcheck: bool, relu: bool):
    """The course's convolutions (the API's conv2d calls without the features left out),
    with ``w``, ``b``, ``stride`` and ``pad`` named as in ``conv_param``."""

    def course(sample: Sample) -> Sample:
        arrays = {"x": sample.arrays["x"], "w": sample.arrays["weight"], "b": sample.arrays["bias"]}
        return Sample(arrays, {"stride": sample.kwargs["stride"], "pad": sample.kwargs["padding"]}, sample.seed, sample.values)

    drawn = BY_NAME["conv2d"].samples(for_gradcheck=for_gradcheck, features=frozenset()).map(course)
    if relu and for_gradcheck:  # finite differences across relu's kink mean nothing
        drawn = drawn.filter(lambda s: np.abs(conv_twin(*map(torch.from_numpy, s.arrays.values()), **s.kwargs).numpy()).min() > 1e-4)
    return drawn


def conv_twin(x, w, b, stride, pad):
    return F.conv2d(x, w, b, stride, pad)


def conv_relu_twin(x, w, b, stride, pad):
    return F.relu(F.conv2d(x, w, b, stride, pad))


@st.composite
def conv_relu_pool_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    """A course convolution, then a max pool of the relu's output: a window of up to 3 x 3
    (not larger than the output) and one stride that tiles it, as the course assumes."""
    conv = draw(conv_samples(for_gradcheck=for_gradcheck, relu=True), label="convolution")
    (_, _, height, width), (_, _, kernel_height, kernel_width) = conv.arrays["x"].shape, conv.arrays["w"].shape
    stride, pad = conv.kwargs["stride"], conv.kwargs["pad"]
    out = [(height + 2 * pad - kernel_height) // stride + 1, (width + 2 * pad - kernel_width) // stride + 1]
    pool_height = draw(edge_or_range(1, min(out[0], 3)), label="pool_height")
    pool_width = draw(edge_or_range(1, min(out[1], 3)), label="pool_width")
    gap = math.gcd(out[0] - pool_height, out[1] - pool_width)
    pool_stride = draw(st.sampled_from([s for s in (1, 2, 3) if gap % s == 0]), label="pool stride")
    return conv.changed(pool_height=pool_height, pool_width=pool_width, pool_stride=pool_stride)


def conv_relu_pool_twin(x, w, b, stride, pad, pool_height, pool_width, pool_stride):
    return F.max_pool2d(F.relu(F.conv2d(x, w, b, stride, pad)), (pool_height, pool_width), pool_stride)


def conv_sandwich(stem: str, *, pool: bool):
    """The learner's conv_relu (or conv_relu_pool) pair, its hyperparameters passed in
    conv_param (and pool_param)."""

    def make(module):
        forward_name, backward_name = f"{stem}_forward", f"{stem}_backward"
        learner_forward, learner_backward = learner_pair(module, forward_name, backward_name)

        def forward(x, w, b, stride, pad, *pooling):
            params = [{"stride": stride, "pad": pad}]
            if pool:
                pool_height, pool_width, pool_stride = pooling
                params.append({"pool_height": pool_height, "pool_width": pool_width, "stride": pool_stride})
            out, cache = learner_forward(x, w, b, *params)
            return out, (cache, x.shape, w.shape)

        def backward(dout, cache):
            course_cache, x_shape, w_shape = cache
            dx, dw, db = learner_backward(dout, course_cache)
            return (
                shaped(backward_name, "dx", dx, x_shape),
                shaped(backward_name, "dw", dw, w_shape),
                shaped(backward_name, "db", db, w_shape[:1], hint="db sums dout over the batch and both spatial axes"),
            )

        return adapted_pair(forward, backward, learner_backward)

    return make


def bindings() -> tuple[Binding, ...]:
    affine_relu = course_layout_entry(
        "affine_relu", array_args=("x", "w", "b"), twin=lambda x, w, b: F.relu(affine_twin(x, w, b)),
        samples=lambda **options: affine_samples(relu=True, **options),
        hints={**AFFINE_HINTS, "out": "relu(affine(x)).", "dx": "relu_backward first (where the affine output is > 0), then affine_backward."},
    )
    conv_relu = course_layout_entry(
        "conv_relu", array_args=("x", "w", "b"), twin=conv_relu_twin, hints=CONV_HINTS,
        samples=lambda for_gradcheck=False, features=None: conv_samples(for_gradcheck=for_gradcheck, relu=True),
    )
    conv_relu_pool = course_layout_entry("conv_relu_pool", array_args=("x", "w", "b"), twin=conv_relu_pool_twin, samples=conv_relu_pool_samples, hints=CONV_HINTS)
    return (
        binding(
            affine_relu, "affine_relu_forward", "affine_relu_backward", affine_adapter("affine_relu"),
            left_out={"bias=None": "affine_relu_forward always adds b"}, conventions=(SANDWICH_NOTE,), group=LAYER_UTILS,
        ),
        binding(
            conv_relu, "conv_relu_forward", "conv_relu_backward", conv_sandwich("conv_relu", pool=False),
            left_out=CONV_LEFT_OUT, conventions=(SANDWICH_NOTE,), group=LAYER_UTILS,
        ),
        binding(
            conv_relu_pool, "conv_relu_pool_forward", "conv_relu_pool_backward", conv_sandwich("conv_relu_pool", pool=True),
            left_out=CONV_LEFT_OUT, conventions=(SANDWICH_NOTE,), group=LAYER_UTILS,
        ),
    )
