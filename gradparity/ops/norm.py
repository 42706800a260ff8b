"""Batch, layer and group norm: strategies, bad calls and registry entries."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import torch_impl

from ..op_entry import ErrorInput, Feature, OpEntry, Tolerance, normal_array
from ..sample import Sample
from ..strategies import SEEDS, edge_or_range, enabled, make_array, moved_off, shapes, spatial_sides, value_kinds

NORM_VALUES = ("near_constant",)
EPS = st.sampled_from([1e-5, 1e-3])

# Normalising divides by sqrt(var + eps): when a channel's variance is near or below eps,
# float32 rounding in x - mean (and the cancelling terms of dx) is magnified up to
# 1 / sqrt(eps) = 316 times. PyTorch's float32 kernels show exactly that (e.g. dx of
# -6.1e-5 where the exact value is 0). float64 stays at the tight defaults.
FLOAT32_NORM = Tolerance(1e-4, 3e-4, "float32 rounding magnified up to 1 / sqrt(eps) = 316x when a variance is near eps")
# PyTorch's float32 group-norm backward goes further: it forms dweight (and part of dx)
# from sums of dout * x and of dout, rstd * (sum(dout * x) - mean * sum(dout)), which cancel
# when a group's values sit near a constant away from 0, and then multiplies by rstd (up
# to 316). Measured on near-constant (3, 12, 4, 4) inputs: dweight up to 9.2e-4 off beyond
# rtol (its own float32 result against its float64 one; the reference's float32 stays
# within 3e-8). float64 stays at the tight defaults.
FLOAT32_GROUP_NORM = Tolerance(
    1e-4, 2e-3, "PyTorch's float32 backward cancels sum(dout * x) against mean * sum(dout) on near-constant groups, times up to 316: dweight up to 9e-4 off",
)


@st.composite
def batch_norm_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    on = enabled(features)
    rank = draw(st.integers(2, 4), label="rank") if on("spatial inputs") else 2
    batch = draw(edge_or_range(1, 4), label="N")
    channels = draw(edge_or_range(1, 4), label="C")
    batch = moved_off(batch, channels) if draw(st.booleans(), label="N != C") else batch
    spatial = draw(shapes(min_dims=rank - 2, max_dims=rank - 2, max_side=3 if for_gradcheck else 4), label="spatial")
    # Training with running statistics (the in-place update) is drawn twice as often: it
    # is where the momentum and variance conventions live.
    modes = ["train, running stats", "train, running stats", "train", "eval, running stats", "eval"]
    modes = [m for m in modes if (on("eval mode") or m.startswith("train")) and (on("no running stats") or m.endswith("running stats"))]
    mode = draw(st.sampled_from(modes), label="mode")
    training, tracked = mode.startswith("train"), mode.endswith("running stats")
    affine = draw(st.booleans(), label="affine") if on("affine=False") else True
    # Batch statistics need two values per channel (PyTorch raises otherwise).
    assume(not (training or not tracked) or batch * int(np.prod(spatial)) > 1)
    momentum = draw(st.one_of(st.sampled_from([0.1, 0.0, 1.0]), st.floats(0.0, 1.0)), label="momentum")
    seed = draw(SEEDS, label="seed")
    values = draw(value_kinds(for_gradcheck, extra=NORM_VALUES), label="values")
    rng = np.random.default_rng(seed)
    arrays = {
        "x": make_array(rng, (batch, channels, *spatial), values),
        "weight": make_array(rng, (channels,), "normal") if affine else None,
        "bias": make_array(rng, (channels,), "normal") if affine else None,
        "running_mean": rng.standard_normal(channels) if tracked else None,
        "running_var": rng.uniform(0.5, 2.0, channels) if tracked else None,
    }
    kwargs = {"training": training, "momentum": momentum, "eps": draw(EPS, label="eps")}
    return Sample(arrays, kwargs, seed, values)


@st.composite
def layer_norm_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    on = enabled(features)
    shape = draw(shapes(min_dims=1, max_dims=4, max_side=3 if for_gradcheck else 5), label="shape")
    normalized_dims = draw(st.integers(1, len(shape)), label="normalized dims") if on("several normalized axes") else 1
    normalized = tuple(shape[-normalized_dims:])
    spelling = draw(st.sampled_from(["tuple", "list", "int"] if normalized_dims == 1 else ["tuple", "list"]), label="spelling")
    normalized_shape = {"tuple": normalized, "list": list(normalized), "int": normalized[0]}[spelling]
    seed = draw(SEEDS, label="seed")
    values = draw(value_kinds(for_gradcheck, extra=NORM_VALUES), label="values")
    rng = np.random.default_rng(seed)
    arrays = {
        "x": make_array(rng, shape, values),
        "weight": make_array(rng, normalized, "normal") if not on("no weight or bias") or draw(st.booleans(), label="weight") else None,
        "bias": make_array(rng, normalized, "normal") if not on("no weight or bias") or draw(st.booleans(), label="bias") else None,
    }
    return Sample(arrays, {"normalized_shape": normalized_shape, "eps": draw(EPS, label="eps")}, seed, values)


@st.composite
def group_norm_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    small = for_gradcheck  # gradcheck costs two forward passes per input element
    on = enabled(features)
    # Half the calls typical: several groups of several channels (groups != channels per
    # group), N != C, spatial sides above 1 and H != W, where a layer that pools the wrong
    # axes, reshapes to (N, C // G, G) or unpacks H and W swapped shows it. The other half
    # stays near the edges: one group (layer norm over C, H, W), one channel per group
    # (instance norm), batch 1, 1x1 images.
    typical = draw(st.booleans(), label="typical shape")
    spatial_dims = draw(st.integers(0, 2), label="spatial dims") if on("inputs other than (N, C, H, W)") else 2
    longest = 3 if small else 4
    if typical and spatial_dims == 2:
        spatial = spatial_sides(draw, (1, 1), longest - 1, typical=True)
    elif typical:
        spatial = draw(st.lists(st.integers(2, longest), min_size=spatial_dims, max_size=spatial_dims).map(tuple), label="spatial")
    else:
        spatial = draw(shapes(min_dims=spatial_dims, max_dims=spatial_dims, max_side=longest), label="spatial")
    if typical:
        groups = draw(st.integers(2, 3), label="num_groups")
        per_group = moved_off(draw(st.integers(2, 3), label="C/num_groups"), groups)
    else:
        groups = draw(edge_or_range(1, 3 if small else 4), label="num_groups")
        # A group of one value is an error (as in F.group_norm): one channel per group only
        # where the spatial axes hold more than one value.
        per_group = draw(edge_or_range(1 if math.prod(spatial) > 1 else 2, 3), label="C/num_groups")
    channels = groups * per_group
    batch = draw(edge_or_range(1, 2 if small else 3), label="N")
    batch = moved_off(batch, channels) if typical else batch
    seed = draw(SEEDS, label="seed")
    values = draw(value_kinds(for_gradcheck, extra=NORM_VALUES), label="values")
    rng = np.random.default_rng(seed)
    arrays = {
        "x": make_array(rng, (batch, channels, *spatial), values),
        "weight": make_array(rng, (channels,), "normal") if not on("no weight or bias") or draw(st.booleans(), label="weight") else None,
        "bias": make_array(rng, (channels,), "normal") if not on("no weight or bias") or draw(st.booleans(), label="bias") else None,
    }
    return Sample(arrays, {"num_groups": groups, "eps": draw(EPS, label="eps")}, seed, values)


def _batch_norm_errors() -> tuple[ErrorInput, ...]:
    x, ones = normal_array(4, 3, 2), np.ones(3)
    return (
        ErrorInput("one value per channel in training", (normal_array(1, 3), None, None, None, None), {"training": True}, ValueError, "x"),
        ErrorInput("running_mean of the wrong length", (x, None, None, np.zeros(2), ones), {}, ValueError, "running_mean"),
        ErrorInput("running_var of the wrong length", (x, None, None, np.zeros(3), np.ones(4)), {}, ValueError, "running_var"),
        ErrorInput("weight of the wrong length", (x, np.ones(2), np.zeros(2), None, None), {}, ValueError, "weight"),
        ErrorInput("5-D input", (normal_array(2, 3, 2, 2, 2), None, None, None, None), {}, ValueError, "x"),
        ErrorInput("integer-typed input", (np.ones((4, 3), dtype=np.int64), None, None, None, None), {}, TypeError, "x"),
        ErrorInput("momentum above 1", (x, None, None, np.zeros(3), ones), {"momentum": 1.5}, ValueError, "momentum"),
    )


def _layer_norm_errors() -> tuple[ErrorInput, ...]:
    x = normal_array(2, 3, 4)
    return (
        ErrorInput("normalized_shape that is not x's trailing shape", (x, (3,)), {}, ValueError, "normalized_shape"),
        ErrorInput("weight of the wrong shape", (x, (4,), np.ones(3)), {}, ValueError, "weight"),
        ErrorInput("normalized_shape as a float", (x, 4.0), {}, TypeError, "normalized_shape"),
        ErrorInput("integer-typed input", (np.ones((2, 4), dtype=np.int64), 4), {}, TypeError, "x"),
    )


def _group_norm_errors() -> tuple[ErrorInput, ...]:
    x = normal_array(2, 4, 3)
    return (
        ErrorInput("one value per group", (normal_array(1, 4), 4), {}, ValueError, "x"),
        ErrorInput("one value per group in a batch", (normal_array(3, 4), 4), {}, ValueError, "x"),
        ErrorInput("num_groups that does not divide the channels", (x, 3), {}, ValueError, "num_groups"),
        ErrorInput("zero num_groups", (x, 0), {}, ValueError, "num_groups"),
        ErrorInput("num_groups as a float", (x, 2.0), {}, TypeError, "num_groups"),
        ErrorInput("1-D input", (normal_array(4), 2), {}, ValueError, "x"),
        ErrorInput("integer-typed input", (np.ones((2, 4, 3), dtype=np.int64), 2), {}, TypeError, "x"),
        ErrorInput("weight of the wrong length", (x, 2, np.ones(2)), {}, ValueError, "weight"),
        ErrorInput("bias of the wrong length", (x, 2, None, np.zeros(3)), {}, ValueError, "bias"),
        ErrorInput("weight of another dtype", (x, 2, np.ones(4, dtype=np.float32)), {}, TypeError, "weight"),
        ErrorInput("negative eps", (x, 2), {"eps": -1e-5}, ValueError, "eps"),
    )


def _batch_norm_plain() -> Sample:
    arrays = {"x": normal_array(4, 3), "weight": normal_array(3), "bias": normal_array(3), "running_mean": np.zeros(3), "running_var": np.ones(3)}
    return Sample(arrays, {"training": True, "momentum": 0.1, "eps": 1e-5})


BATCH_NORM_FEATURES = (
    Feature("eval mode", "training", lambda s: s.changed(training=False)),
    Feature("affine=False", probe=lambda s: s.changed({"weight": None, "bias": None})),
    Feature("no running stats", probe=lambda s: s.changed({"running_mean": None, "running_var": None})),
    Feature("spatial inputs", probe=lambda s: s.changed({"x": normal_array(2, 3, 2, 2)})),
)


def _layer_norm_plain() -> Sample:
    return Sample({"x": normal_array(2, 3, 4), "weight": normal_array(4), "bias": normal_array(4)}, {"normalized_shape": (4,), "eps": 1e-5})


LAYER_NORM_FEATURES = (
    Feature("no weight or bias", probe=lambda s: s.changed({"weight": None, "bias": None})),
    Feature("several normalized axes", probe=lambda s: s.changed({"weight": normal_array(3, 4), "bias": normal_array(3, 4)}, normalized_shape=(3, 4))),
)

def _group_norm_plain() -> Sample:
    return Sample({"x": normal_array(2, 4, 3, 2), "weight": normal_array(4), "bias": normal_array(4)}, {"num_groups": 2, "eps": 1e-5})


GROUP_NORM_FEATURES = (
    Feature("no weight or bias", probe=lambda s: s.changed({"weight": None, "bias": None})),
    Feature("inputs other than (N, C, H, W)", probe=lambda s: s.changed({"x": normal_array(3, 4)})),
)


STATISTICS_HINT = (
    "Normalise with the biased variance (divide by n) and put eps inside the square root: (x - mean) / sqrt(var + eps)."
)

ENTRIES: tuple[OpEntry, ...] = (
    OpEntry(
        name="batch_norm",
        array_args=("x", "weight", "bias", "running_mean", "running_var"),
        grad_args=("x", "weight", "bias"),
        state_args=("running_mean", "running_var"),
        twin=torch_impl.batch_norm,
        samples=batch_norm_samples,
        stricter_than_pytorch={
            "5-D input": "F.batch_norm takes any rank from 2 up (BatchNorm3d's 5-D too); the API's covers (N, C), (N, C, L) and (N, C, H, W)",
            "momentum above 1": "PyTorch does not check momentum; above 1 it extrapolates the running statistics, always a mistake",
        },
        features=BATCH_NORM_FEATURES,
        plain_call=_batch_norm_plain,
        error_inputs=_batch_norm_errors(),
        tolerances={"float32": FLOAT32_NORM},
        hints={
            "out": STATISTICS_HINT + " In eval mode use the running statistics.",
            "running_mean (updated in place)": "running = (1 - momentum) * running + momentum * batch_mean, in place.",
            "running_var (updated in place)": "running_var is updated with the *unbiased* batch variance (n / (n - 1)), "
            "running = (1 - momentum) * running + momentum * batch_var.",
            "dx": "In training the mean and variance depend on x: dx = inv_std / n * (n dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)).",
        },
    ),
    OpEntry(
        name="layer_norm",
        array_args=("x", "weight", "bias"),
        signature=("x", "normalized_shape", "weight", "bias", "eps"),
        twin=torch_impl.layer_norm,
        samples=layer_norm_samples,
        features=LAYER_NORM_FEATURES,
        plain_call=_layer_norm_plain,
        error_inputs=_layer_norm_errors(),
        tolerances={"float32": FLOAT32_NORM},
        hints={"out": STATISTICS_HINT + " Statistics run over the last len(normalized_shape) axes, per sample."},
    ),
    OpEntry(
        name="group_norm",
        array_args=("x", "weight", "bias"),
        signature=("x", "num_groups", "weight", "bias", "eps"),
        twin=torch_impl.group_norm,
        samples=group_norm_samples,
        stricter_than_pytorch={
            "one value per group in a batch": "F.group_norm checks only that the whole batch holds more than one value "
            "per group; with one value per group and N > 1 it returns the bias whatever x is, and a zero dx: always a mistake",
            "negative eps": "PyTorch does not check eps; below 0, sqrt(var + eps) is NaN for a group of small variance",
        },
        features=GROUP_NORM_FEATURES,
        plain_call=_group_norm_plain,
        error_inputs=_group_norm_errors(),
        tolerances={"float32": FLOAT32_GROUP_NORM},
        hints={
            "out": STATISTICS_HINT + " Statistics run per sample and per group of C // num_groups consecutive channels, "
            "over those channels and every spatial position: x.reshape(N, num_groups, -1), one mean per row; "
            "weight and bias then apply per channel, not per group.",
            "dx": "The group's mean and variance depend on x: on each (sample, group) row of n = C // num_groups * H * W values, "
            "dx = inv_std / n * (n dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)) with dxhat = dout * weight (per channel).",
            "dweight": "dweight[c] = sum of dout * xhat over the batch and the spatial axes of channel c: one value per channel.",
            "dbias": "dbias[c] = sum of dout over the batch and the spatial axes of channel c: one value per channel.",
        },
    ),
)
