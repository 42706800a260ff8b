"""layers.py's normalisations: batch norm (and its alternative backward), spatial batch
norm, layer norm and spatial group norm. Batch norm follows the course where it differs
from PyTorch on purpose: momentum is the old running value's weight, and the running
variance is the biased one."""

from __future__ import annotations

import inspect
import math
import re
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from ...op_entry import OpEntry
from ...registry import BY_NAME
from ...sample import Sample
from ...strategies import make_array, spatial_sides
from .. import Binding
from ..adapting import returned
from .common import LAYERS, adapted_pair, binding, corner, course_layout_entry, draw_data, draw_sizes, learner_pair

EPS = st.sampled_from([1e-5, 1e-3])
NORM_VALUES = ("near_constant",)

# ---------------------------------------------------------------- batch norm


def batchnorm_samples(*, spatial: bool):
    """``x`` (N, D) or (N, C, H, W), ``gamma``, ``beta`` and the running statistics of
    ``bn_param`` (D,); 'train' (twice as often), 'train' on a first call (no running
    statistics in ``bn_param`` yet: the function starts them at zeros) and 'test'."""

    @st.composite
    def samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
        small = for_gradcheck
        mode = draw(st.sampled_from(["train", "train", "train, first call", "test"]), label="mode")
        training, given = mode.startswith("train"), mode != "train, first call"
        typical = draw(st.booleans(), label="typical shape")
        batch, channels = draw_sizes(draw, ("N", "C" if spatial else "D"), 3 if small else 4, typical)
        sides = spatial_sides(draw, (1, 1), 2 if small else 3, typical=typical) if spatial else []
        if training and batch * math.prod(sides) == 1:
            batch = 2  # batch statistics of one value: a variance of 0, nothing to normalise
        momentum = draw(st.one_of(st.sampled_from([0.9, 0.0, 1.0]), st.floats(0.0, 1.0)), label="momentum")
        eps = draw(EPS, label="eps")
        seed, values, rng = draw_data(draw, for_gradcheck, extra=NORM_VALUES)
        arrays = {
            "x": make_array(rng, (batch, channels, *sides), values),
            "gamma": make_array(rng, (channels,), "normal"),
            "beta": make_array(rng, (channels,), "normal"),
            "running_mean": rng.standard_normal(channels) if given else np.zeros(channels),
            "running_var": rng.uniform(0.5, 2.0, channels) if given else np.zeros(channels),
        }
        kwargs = {"training": training, "momentum": momentum, "eps": eps, "running_stats_given": given}
        return Sample(arrays, kwargs, seed, values)

    return samples


def batchnorm_twin(x, gamma, beta, running_mean, running_var, training, momentum, eps, running_stats_given):
    """The course's batch norm, with PyTorch's kernel: batch statistics in 'train' and the
    running ones in 'test'; the running statistics updated as the course does (momentum is
    the old value's weight, the variance the biased one), in place."""
    if not training:
        return F.batch_norm(x, running_mean, running_var, gamma, beta, training=False, eps=eps)
    out = F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
    axes = [0, *range(2, x.ndim)]
    with torch.no_grad():
        running_mean.mul_(momentum).add_((1 - momentum) * x.mean(axes))
        running_var.mul_(momentum).add_((1 - momentum) * x.var(axes, unbiased=False))
    return out


def batchnorm(forward_name: str, backward_name: str):
    """The learner's batch norm pair: the mode and hyperparameters passed in bn_param, and
    the running statistics read back from it into the API's state arrays."""

    def make(module):
        learner_forward, learner_backward = learner_pair(module, forward_name, backward_name)

        def forward(x, gamma, beta, running_mean, running_var, training, momentum, eps, running_stats_given):
            bn_param = {"mode": "train" if training else "test", "eps": eps, "momentum": momentum}
            if running_stats_given:
                bn_param |= {"running_mean": running_mean.copy(), "running_var": running_var.copy()}
            out, cache = learner_forward(x, gamma, beta, bn_param)
            for key, given in (("running_mean", running_mean), ("running_var", running_var)):
                if key not in bn_param:
                    raise AssertionError(
                        f"{forward_name} left no bn_param['{key}']: store the running statistics back into bn_param "
                        "(the course's starter code does it at the end of the function, in both modes)"
                    )
                stored = returned(
                    forward_name, f"bn_param['{key}']", bn_param[key], shape=given.shape,
                    hint=f"keep {key} one value per channel, shape {given.shape}: mean(axis=...) without keepdims",
                )
                given[...] = stored  # the API's state arrays: updated in place, compared with the twin's
            return out, cache

        return adapted_pair(forward, learner_backward, learner_backward)

    return make


def batchnorm_entry(*, spatial: bool) -> OpEntry:
    word = "spatial_batchnorm" if spatial else "batchnorm"
    return course_layout_entry(
        word,
        array_args=("x", "gamma", "beta", "running_mean", "running_var"),
        grad_args=("x", "gamma", "beta"),
        state_args=("running_mean", "running_var"),
        twin=batchnorm_twin,
        samples=batchnorm_samples(spatial=spatial),
        edge_cases=(
            corner("'test' mode, batch 1", {"x": (1, 3, 2, 1) if spatial else (1, 3), "gamma": (3,), "beta": (3,), "running_mean": (3,),
                                             "running_var": np.array([0.5, 1.0, 2.0])}, training=False, momentum=0.9, eps=1e-5, running_stats_given=True),
        ),
        hints={
            "out": "In 'train' normalise with the batch mean and the biased variance (divide by N"
            + (" * H * W, per channel" if spatial else "")
            + "): (x - mean) / sqrt(var + eps) * gamma + beta; in 'test' with bn_param's running_mean and running_var.",
            "running_mean (updated in place)": "CS231n: running_mean = momentum * running_mean + (1 - momentum) * sample_mean "
            "(momentum is the weight of the old value), stored back into bn_param.",
            "running_var (updated in place)": "CS231n: running_var = momentum * running_var + (1 - momentum) * sample_var, with "
            "the biased sample variance you normalised with (divide by N, no eps added), stored back into bn_param.",
            "dx": "In 'train' the mean and variance depend on x; in closed form, with sums over the "
            + ("batch and the spatial axes, n = N * H * W" if spatial else "batch, n = N")
            + ": dx = gamma * istd / n * (n * dout - sum(dout) - xhat * sum(dout * xhat)); in 'test' dx = gamma * dout / sqrt(running_var + eps).",
            "dgamma": "dgamma = (dout * xhat) summed over the batch" + (" and the spatial axes." if spatial else "."),
            "dbeta": "dbeta = dout summed over the batch" + (" and the spatial axes." if spatial else "."),
        },
    )


BATCHNORM_NOTE = (
    "batchnorm_forward, spatial_batchnorm_forward: bn_param['momentum'] is the weight of the old running value (running = "
    "momentum * running + (1 - momentum) * batch; PyTorch's momentum is 1 minus it), and running_var takes the biased batch "
    "variance (PyTorch's the unbiased): followed, not failures; the running statistics are read back from bn_param, and a "
    "first call finds none there"
)

# ---------------------------------------------------------------- layer norm


@st.composite
def layernorm_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    batch, width = draw_sizes(draw, ("N", "D"), 4 if for_gradcheck else 6, draw(st.booleans(), label="typical shape"))
    eps = draw(EPS, label="eps")
    seed, values, rng = draw_data(draw, for_gradcheck, extra=NORM_VALUES)
    arrays = {"x": make_array(rng, (batch, width), values), "gamma": rng.standard_normal(width), "beta": rng.standard_normal(width)}
    return Sample(arrays, {"eps": eps}, seed, values)


def layernorm(module):
    learner_forward, learner_backward = learner_pair(module, "layernorm_forward", "layernorm_backward")
    return adapted_pair(lambda x, gamma, beta, eps: learner_forward(x, gamma, beta, {"eps": eps}), learner_backward, learner_backward)


def layernorm_entry() -> OpEntry:
    return course_layout_entry(
        "layernorm", array_args=("x", "gamma", "beta"), twin=lambda x, gamma, beta, eps: F.layer_norm(x, x.shape[-1:], gamma, beta, eps),
        samples=layernorm_samples,
        hints={
            "out": "Each example (row) is normalised by its own mean and biased variance over its D values: "
            "(x - mean) / sqrt(var + eps) * gamma + beta, the same in train and test.",
            "dx": "The row's mean and variance depend on x: dx = istd / D * (D * dxhat - dxhat.sum(1) - xhat * (dxhat * xhat).sum(1)) "
            "with dxhat = dout * gamma, sums along each row.",
        },
    )


# ---------------------------------------------------------------- group norm


def groupnorm_samples():
    """The API's group-norm calls of (N, C, H, W) with gamma and beta, as the course takes
    them: ``gamma``, ``beta`` of shape (1, C, 1, 1), ``G`` groups."""
    api_samples = BY_NAME["group_norm"].samples

    def course(sample: Sample) -> Sample:
        channels = sample.arrays["x"].shape[1]
        arrays = {"x": sample.arrays["x"], "gamma": sample.arrays["weight"].reshape(1, channels, 1, 1), "beta": sample.arrays["bias"].reshape(1, channels, 1, 1)}
        return Sample(arrays, {"G": sample.kwargs["num_groups"], "eps": sample.kwargs["eps"]}, sample.seed, sample.values)

    def samples(*, for_gradcheck: bool = False, features: frozenset[str] | None = None):
        return api_samples(for_gradcheck=for_gradcheck, features=frozenset()).map(course)

    return samples


def groupnorm_twin(x, gamma, beta, G, eps):
    return F.group_norm(x, G, gamma.reshape(-1), beta.reshape(-1), eps)


def groupnorm_gamma_shape(function) -> tuple[str, str]:
    """``('(1, C, 1, 1)' or '(C,)', why)``: the shape of gamma and beta spatial_groupnorm_forward
    takes. The notebooks pass (1, C, 1, 1) in every year; the 2018-2019 docstring says (C,)."""
    doc = " ".join((inspect.getdoc(function) or "").split())
    if "(1, C, 1, 1)" in doc.replace("(1,C,1,1)", "(1, C, 1, 1)"):
        return "(1, C, 1, 1)", "as its docstring says"
    if re.search(r"gamma[^.]*of shape \(C,\)", doc):
        return "(C,)", "as its docstring says (the 2018-2019 assignments)"
    return "(1, C, 1, 1)", "as the course's notebooks pass them (its docstring does not say)"


def groupnorm_conventions(module) -> tuple[str, ...]:
    """What the adapter read in the learner's docstring: the shape it passes gamma and beta in."""
    shape, why = groupnorm_gamma_shape(module.spatial_groupnorm_forward)
    return (f"spatial_groupnorm_forward: gamma and beta passed of shape {shape}, {why}; dgamma and dbeta taken of shape (C,) or (1, C, 1, 1)",)


def groupnorm(module):
    learner_forward, learner_backward = learner_pair(module, "spatial_groupnorm_forward", "spatial_groupnorm_backward")
    shape, _ = groupnorm_gamma_shape(learner_forward)

    def forward(x, gamma, beta, G, eps):
        given = (gamma, beta) if shape == "(1, C, 1, 1)" else (gamma.reshape(-1), beta.reshape(-1))
        out, cache = learner_forward(x, *given, G, {"eps": eps})
        return out, (cache, x.shape[1])

    def backward(dout, cache):
        course_cache, channels = cache
        dx, dgamma, dbeta = learner_backward(dout, course_cache)
        per_channel = []
        # Gradients in gamma's shape, which the course's years differ on: either is taken.
        for name, grad in (("dgamma", dgamma), ("dbeta", dbeta)):
            grad = returned("spatial_groupnorm_backward", name, grad)
            if grad.shape not in ((channels,), (1, channels, 1, 1)):
                raise AssertionError(
                    f"spatial_groupnorm_backward returned {name}.shape={grad.shape}, but should be (1, {channels}, 1, 1) or ({channels},)"
                    f"\n  hint: {name} has one value per channel: sum over the batch and the spatial axes (axis=(0, 2, 3), keepdims=True)"
                )
            per_channel.append(grad.reshape(1, channels, 1, 1))
        return dx, *per_channel

    return adapted_pair(forward, backward, learner_backward)


def groupnorm_entry() -> OpEntry:
    return course_layout_entry(
        "spatial_groupnorm", array_args=("x", "gamma", "beta"), twin=groupnorm_twin, samples=groupnorm_samples(),
        tolerances=BY_NAME["group_norm"].tolerances,
        hints={
            "out": "Each example's G groups of C // G consecutive channels are normalised over those channels and every "
            "position (x.reshape(N, G, -1)), then gamma and beta apply per channel.",
            "dx": "On each (example, group) row of n = C // G * H * W values: dx = istd / n * (n dxhat - sum(dxhat) - "
            "xhat * sum(dxhat * xhat)), dxhat = dout * gamma (per channel).",
            "dgamma": "dgamma sums dout * xhat over the batch and the spatial axes: one value per channel.",
            "dbeta": "dbeta sums dout over the batch and the spatial axes: one value per channel.",
        },
    )


# ----------------------------------------------------------------------- bindings


def bindings() -> tuple[Binding, ...]:
    batchnorm_plain = batchnorm_entry(spatial=False)
    return (
        binding(
            batchnorm_plain, "batchnorm_forward", "batchnorm_backward", batchnorm("batchnorm_forward", "batchnorm_backward"),
            conventions=(BATCHNORM_NOTE,), group=LAYERS,
            left_out={"affine=False": "batchnorm_forward always takes gamma and beta",
                      "spatial inputs": "batchnorm_forward takes x of shape (N, D); spatial_batchnorm_forward takes (N, C, H, W)"},
        ),
        # A second backward of batchnorm_forward's cache: a row of its own; batchnorm_forward's
        # row checks the forward.
        binding(
            replace(batchnorm_plain, name="batchnorm_alt"), None, "batchnorm_backward_alt", batchnorm("batchnorm_forward", "batchnorm_backward_alt"),
            requires=("batchnorm_forward", "batchnorm_backward_alt"), group=LAYERS,
            conventions=("batchnorm_backward_alt: checked on batchnorm_forward's cache, in its own row",),
        ),
        binding(
            batchnorm_entry(spatial=True), "spatial_batchnorm_forward", "spatial_batchnorm_backward",
            batchnorm("spatial_batchnorm_forward", "spatial_batchnorm_backward"), conventions=(BATCHNORM_NOTE,), group=LAYERS,
            left_out={"affine=False": "spatial_batchnorm_forward always takes gamma and beta",
                      "inputs other than (N, C, H, W)": "spatial_batchnorm_forward takes (N, C, H, W)"},
        ),
        binding(
            layernorm_entry(), "layernorm_forward", "layernorm_backward", layernorm, group=LAYERS,
            conventions=("layernorm_forward: x of shape (N, D), each example normalised over its D values, eps from ln_param",),
            left_out={"no weight or bias": "layernorm_forward always takes gamma and beta",
                      "several normalized axes": "layernorm_forward normalises the D values of each example of x (N, D)"},
        ),
        binding(
            groupnorm_entry(), "spatial_groupnorm_forward", "spatial_groupnorm_backward", groupnorm, conventions=groupnorm_conventions, group=LAYERS,
            left_out={"no weight or bias": "spatial_groupnorm_forward always takes gamma and beta",
                      "inputs other than (N, C, H, W)": "spatial_groupnorm_forward takes (N, C, H, W)"},
        ),
    )
