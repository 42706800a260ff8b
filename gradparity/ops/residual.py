"""Residual blocks (BasicBlock, torchvision's Bottleneck): strategies, bad calls and entries.

A sample's ``params`` is a state_dict: conv weights, batch-norm weights and biases, real
running statistics (mean normal, variance uniform in [0.5, 2]) and, in some samples, the
``num_batches_tracked`` counters. Identity and projecting shortcuts (by stride, by channels,
by both) are drawn on purpose, in training and eval mode.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import assume
from hypothesis import strategies as st
from torch.overrides import TorchFunctionMode

import torch_impl
import torch_impl.residual

from ..op_entry import ErrorInput, Feature, OpEntry, Skip, Tolerance, normal_array, values_are
from ..sample import Sample, is_counter
from ..strategies import SEEDS, edge_or_range, enabled, make_array, moved_off, spatial_sides, value_kinds

# The twins define the blocks: their classes' expansion, their state_dict's keys and shapes.
TWIN_MODULES: dict[str, type[torch_impl.residual.BasicBlock] | type[torch_impl.residual.Bottleneck]] = {
    "basic_block": torch_impl.residual.BasicBlock,
    "bottleneck": torch_impl.residual.Bottleneck,
}
EXPANSION = {kind: module.expansion for kind, module in TWIN_MODULES.items()}
SHORTCUTS = ("identity", "projection: stride", "projection: channels", "projection: both")
# gradcheck's finite differences (eps 1e-6) must not cross a ReLU's kink: every ReLU input
# stays at least this far from 0 in gradcheck samples.
RELU_MARGIN = 1e-3

# Even on normal data, a batch norm that sees few values per channel (N * H * W of 2 to 8)
# amplifies rounding, and the blocks chain two or three of them: PyTorch's own float32
# results are up to 1.5e-3 away from the exact (float64) ones there, while the reference,
# which normalises in float64, stays within 1.5e-4. Over 3000 drawn blocks the two float32
# results agreed within rtol 1e-3 and atol 5e-4. float64 stays at the tight defaults.


def batch_norms_ill_conditioned(sample: Sample) -> bool:
    """In training, every batch norm after the stride sees N * Ho * Wo values per channel.
    With 2 or 3 it outputs nearly +-1 whatever its input, so the gradient through it is
    mostly cancellation: in float32, rounding noise (seen: 1.3e-3 relative on a
    dconv1.weight of 7.9)."""
    batch, _, height, width = sample.arrays["x"].shape
    stride = sample.kwargs["stride"]
    return sample.kwargs["training"] and batch * ((height - 1) // stride + 1) * ((width - 1) // stride + 1) < 4


FLOAT32_SKIPS = (
    Skip(
        None, "float32", values_are("near_constant"),
        # The noise keeps ~3 significant digits after the first convolution; the batch norm
        # after it scales those to O(1) while its backward divides by their tiny standard
        # deviation again: any two float32 implementations differ from the 3rd digit on.
        "near-constant inputs (a constant plus 1e-4 noise) are compared in float64 only",
    ),
    Skip(None, "float32", batch_norms_ill_conditioned, "batch norms over fewer than 4 values per channel are compared in float64 only"),
)


# 1e-3 was exceeded by a random run: bottleneck, x (1, 3, 3, 5), dparams['conv3.weight'] off
# by 1.42e-3 (the reference before and after its float32 batch-norm rewrite alike).
FLOAT32_BLOCK = Tolerance(2e-3, 2e-3, "batch norms over few values per channel, chained 2-3 deep, amplify PyTorch's float32 rounding up to 1.5e-3")


def make_params(rng: np.random.Generator, kind: str, in_channels: int, planes: int, stride: int, *, counters: bool = False) -> dict:
    """A ``params`` dict with the keys and shapes of the twin's
    ``BasicBlock``/``Bottleneck(in_channels, planes, stride).state_dict()``: weights normal,
    running means normal, running variances uniform in [0.5, 2], counters (if any) 0."""
    state = TWIN_MODULES[kind](in_channels, planes, stride).state_dict()
    params: dict[str, np.ndarray] = {}
    for key, value in state.items():
        if is_counter(key):
            if counters:
                params[key] = np.array(0, dtype=np.int64)
        elif key.endswith("running_var"):
            params[key] = rng.uniform(0.5, 2.0, tuple(value.shape))
        else:
            params[key] = rng.standard_normal(tuple(value.shape))
    return params


class ReluInputs(TorchFunctionMode):
    """Records what every ReLU receives while the twin runs (before an in-place ReLU)."""

    RELUS = (torch.relu, torch.relu_, F.relu, F.relu_, torch.Tensor.relu, torch.Tensor.relu_)

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[np.ndarray] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.RELUS:
            self.seen.append(args[0].detach().numpy().copy())
        return func(*args, **(kwargs or {}))


def relu_inputs(kind: str, x: np.ndarray, params: dict, stride: int, training: bool) -> list[np.ndarray]:
    """What every ReLU of the block receives (the twin, float64, on copies of the buffers)."""
    with torch.no_grad(), ReluInputs() as recorder:
        getattr(torch_impl, kind)(torch.tensor(x), {key: torch.tensor(value) for key, value in params.items()}, stride, training)
    return recorder.seen


def block_samples(kind: str):
    expansion = EXPANSION[kind]

    @st.composite
    def samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
        on = enabled(features)
        small = for_gradcheck  # gradcheck perturbs every element of x and params: a few hundred at most
        planes = draw(edge_or_range(1, (3 if kind == "basic_block" else 2) if small else 4), label="planes")
        out_channels = planes * expansion
        shortcut = draw(st.sampled_from(SHORTCUTS), label="shortcut")
        stride = 2 if shortcut in ("projection: stride", "projection: both") else 1
        if shortcut in ("projection: channels", "projection: both"):
            in_channels = draw(edge_or_range(1, 3 if small else 4).filter(lambda c: c != out_channels), label="C_in")
        else:
            in_channels = out_channels
        batch = draw(edge_or_range(1, 2 if small else 3), label="N")
        max_side = (4 if kind == "basic_block" else 3) if small else 6
        typical = draw(st.booleans(), label="typical shape")  # H != W, N != C
        height, width = spatial_sides(draw, (1, 1), max_side - 1, typical=typical)
        batch = moved_off(batch, in_channels) if typical else batch
        training = draw(st.booleans(), label="training") if on("eval mode") else True
        # Batch statistics need two values per channel (PyTorch raises otherwise).
        assume(not training or batch * ((height - 1) // stride + 1) * ((width - 1) // stride + 1) > 1)
        counters = draw(st.booleans(), label="num_batches_tracked given") if on("num_batches_tracked") else False
        seed = draw(SEEDS, label="seed")
        values = draw(value_kinds(for_gradcheck, extra=("near_constant",)), label="values")
        rng = np.random.default_rng(seed)
        x = make_array(rng, (batch, in_channels, height, width), values)
        params = make_params(rng, kind, in_channels, planes, stride, counters=counters)
        if for_gradcheck:
            assume(min(np.abs(value).min() for value in relu_inputs(kind, x, params, stride, training)) > RELU_MARGIN)
        return Sample({"x": x, "params": params}, {"stride": stride, "training": training}, seed, values)

    return samples


def _errors(kind: str) -> tuple[ErrorInput, ...]:
    rng = np.random.default_rng(0)
    planes = 2
    out_channels = planes * EXPANSION[kind]
    identity = make_params(rng, kind, out_channels, planes, 1)
    projecting = make_params(rng, kind, 3, planes, 1)  # projects: 3 channels in, out_channels out
    x, x3 = normal_array(2, out_channels, 4, 4), normal_array(2, 3, 4, 4)
    shortcut = {key: value for key, value in projecting.items() if key not in identity}
    last_conv = [key for key in identity if key.startswith("conv")][-1].removesuffix(".weight")

    def without(params, key):
        return {k: v for k, v in params.items() if k != key}

    return (
        ErrorInput("3-D input", (normal_array(out_channels, 4, 4), identity), {}, ValueError, "x"),
        ErrorInput("integer-typed input", (np.ones((2, out_channels, 4, 4), dtype=np.int64), identity), {}, TypeError, "x"),
        ErrorInput("input with other channels than conv1.weight", (x3, identity), {}, ValueError, "x"),
        ErrorInput("params as a list", (x, list(identity.values())), {}, TypeError, "params"),
        ErrorInput("params missing a running_var", (x, without(identity, "bn1.running_var")), {}, ValueError, "params"),
        ErrorInput("params without the shortcut for stride 2", (x, identity), {"stride": 2}, ValueError, "params"),
        ErrorInput(
            "params with a shortcut for an identity block",
            (x, {**identity, **shortcut}), {}, ValueError, "params",
        ),
        ErrorInput("params with an unknown key", (x, {**identity, "fc.weight": np.ones((2, 2))}), {}, ValueError, "params"),
        ErrorInput(
            f"{last_conv}.weight of the wrong shape",
            (x3, {**projecting, f"{last_conv}.weight": normal_array(out_channels, planes + 1, 3, 3)}), {}, ValueError, "params",
        ),
        ErrorInput("bn1.running_mean of the wrong length", (x3, {**projecting, "bn1.running_mean": np.zeros(planes + 1)}), {}, ValueError, "params"),
        ErrorInput("float32 params for a float64 input", (x, {k: v.astype(np.float32) for k, v in identity.items()}), {}, TypeError, "params"),
        ErrorInput("stride 0", (x3, projecting), {"stride": 0}, ValueError, "stride"),
        ErrorInput("stride as a float", (x3, projecting), {"stride": 2.0}, TypeError, "stride"),
        ErrorInput("training as a string", (x, identity), {"training": "yes"}, TypeError, "training"),
        ErrorInput("one value per channel in training", (normal_array(1, out_channels, 1, 1), identity), {"training": True}, ValueError, "x"),
        ErrorInput("one value per channel after the stride", (normal_array(1, 3, 2, 2), projecting), {"stride": 2}, ValueError, "x"),
    )


MERGE_HINT = (
    "out = relu(main + shortcut): one ReLU, after the sum (none on the main branch's last batch norm). The shortcut is x "
    "itself when the block keeps the stride and the channels, else a 1x1 convolution with the stride followed by batch norm."
)
BATCH_NORM_HINT = "Batch norm uses the batch's statistics in training (eps 1e-5) and the running statistics in eval mode."
STATE_HINT = (
    "In training each batch norm updates its running statistics inside params in place: running = 0.9 * running + 0.1 * "
    "batch, running_var with the unbiased batch variance; in eval mode they are used and left alone."
)
GRADIENT_HINT = (
    "Backpropagate through the final ReLU, then send that gradient down both branches: dx is the main branch's dx plus "
    "the shortcut's (the gradient itself for the identity). In each unit: batch norm's backward (training: through the "
    "batch statistics), then the convolution's; between units, the ReLU's mask."
)
STRIDE_HINT = {
    "basic_block": "The stride is on conv1 (3x3, padding 1) and on the shortcut's 1x1 convolution; conv2 has stride 1.",
    "bottleneck": "The stride is on conv2, the 3x3 (torchvision, 'ResNet v1.5'), not on conv1, and on downsample's 1x1 "
    "convolution; conv3 has 4 * planes output channels.",
}


def _plain(kind: str, *, counters: bool = False):
    def plain() -> Sample:
        channels = 2 * EXPANSION[kind]
        params = make_params(np.random.default_rng(0), kind, channels, 2, 1, counters=counters)
        return Sample({"x": normal_array(2, channels, 4, 4), "params": params}, {"stride": 1, "training": True})

    return plain


def _features(kind: str) -> tuple[Feature, ...]:
    return (
        Feature("eval mode", "training", lambda s: s.changed(training=False)),
        Feature("num_batches_tracked", probe=lambda s: _plain(kind, counters=True)()),
    )


def _entry(kind: str) -> OpEntry:
    return OpEntry(
        name=kind,
        array_args=("x", "params"),
        grad_args=("x", "params"),
        state_args=("params",),
        twin=getattr(torch_impl, kind),
        samples=block_samples(kind),
        features=_features(kind),
        plain_call=_plain(kind),
        error_inputs=_errors(kind),
        tolerances={"float32": FLOAT32_BLOCK},
        skips=FLOAT32_SKIPS,
        hints={
            "out": f"{MERGE_HINT} {STRIDE_HINT[kind]} {BATCH_NORM_HINT}",
            "params": STATE_HINT,  # "params['bn1.running_mean'] (updated in place)"
            "dx": GRADIENT_HINT,
            "dparams": GRADIENT_HINT,
        },
    )


ENTRIES: tuple[OpEntry, ...] = (_entry("basic_block"), _entry("bottleneck"))
