"""Losses: strategies, bad calls and registry entries.

Class targets are any integer dtype; some are set to ``ignore_index``, sometimes all of
them (PyTorch's answer for 'mean' is then NaN, with a zero gradient).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import torch_impl

from ..op_entry import FLOAT_DATA_ONLY, ONE_DTYPE, EdgeCase, ErrorInput, Feature, OpEntry, Skip, Tolerance, normal_array, values_are
from ..sample import Sample
from ..strategies import SEEDS, edge_or_range, enabled, make_array, shapes, value_kinds

REDUCTIONS = st.sampled_from(["mean", "sum", "none"])
REDUCTION = Feature("reduction", "reduction", lambda s: s.changed(reduction="none"))


def reductions(on) -> st.SearchStrategy[str]:
    return REDUCTIONS if on("reduction") else st.just("mean")

# Per-element losses are never negative, so their float32 sums cannot cancel: the error
# stays a few ulps of the sum, but summation order differs from PyTorch's.
FLOAT32_SUMS = Tolerance(1e-5, 1e-5, "float32 sums of up to ~100 non-negative losses, added in another order than PyTorch")


def class_loss_samples(first: str, *, extra_values: tuple[str, ...] = ()):
    """``(first, target)``: ``(N, C)`` scores and ``(N,)`` integer classes."""

    @st.composite
    def samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
        on = enabled(features)
        rows = draw(edge_or_range(1, 6), label="N")
        classes = draw(edge_or_range(1, 6), label="C")
        target_dtype = draw(st.sampled_from(["int64", "int32", "int16"]), label="target dtype")
        # ignore_index may be a real class (then that class is ignored) or out of range.
        ignore_index = draw(st.one_of(st.just(-100), st.integers(0, classes - 1)), label="ignore_index") if on("ignore_index") else -100
        ignored = draw(st.sampled_from(["none", "some", "all"]), label="ignored targets") if on("ignore_index") else "none"
        seed = draw(SEEDS, label="seed")
        values = draw(value_kinds(for_gradcheck, extra=extra_values), label="values")
        rng = np.random.default_rng(seed)
        target = rng.integers(0, classes, size=rows)
        if ignored != "none":
            target[rng.random(rows) < 0.5 if ignored == "some" else slice(None)] = ignore_index
        reduction = draw(reductions(on), label="reduction")
        if for_gradcheck and reduction == "mean" and np.all(target == ignore_index):
            reduction = "sum"  # the all-ignored mean is NaN: nothing there to differentiate
        arrays = {first: make_array(rng, (rows, classes), values), "target": target.astype(target_dtype)}
        kwargs = {"reduction": reduction, "ignore_index": ignore_index}
        return Sample(arrays, kwargs, seed, values)

    return samples


@st.composite
def mse_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    shape = draw(shapes(min_dims=1, max_dims=3, max_side=4), label="shape")
    seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
    rng = np.random.default_rng(seed)
    arrays = {"input": make_array(rng, shape, values), "target": make_array(rng, shape, values)}
    return Sample(arrays, {"reduction": draw(reductions(enabled(features)), label="reduction")}, seed, values)


@st.composite
def bce_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    shape = draw(shapes(min_dims=1, max_dims=3, max_side=4), label="shape")
    seed = draw(SEEDS, label="seed")
    values = draw(value_kinds(for_gradcheck, extra=("large",)), label="values")
    rng = np.random.default_rng(seed)
    # Probabilities in [0, 1], a third of them exactly 0 or 1 (hard labels).
    target = np.where(rng.random(shape) < 1 / 3, rng.integers(0, 2, size=shape), rng.random(shape)).astype(np.float64)
    arrays = {"logits": make_array(rng, shape, values), "target": target}
    return Sample(arrays, {"reduction": draw(reductions(enabled(features)), label="reduction")}, seed, values)


def _class_loss_errors(first: str) -> tuple[ErrorInput, ...]:
    scores = normal_array(3, 4)
    return (
        ErrorInput("target out of range", (scores, np.array([0, 4, 1])), {}, ValueError, "target"),
        ErrorInput("negative target that is not ignore_index", (scores, np.array([0, -1, 1])), {}, ValueError, "target"),
        ErrorInput("float targets", (scores, np.array([0.0, 1.0, 2.0])), {}, TypeError, "target"),
        ErrorInput("target of the wrong shape", (scores, np.array([[0, 1, 2]])), {}, ValueError, "target"),
        ErrorInput("target of the wrong length", (scores, np.array([0, 1])), {}, ValueError, "target"),
        ErrorInput(f"1-D {first}", (normal_array(4), np.array([0])), {}, ValueError, first),
        ErrorInput(f"integer-typed {first}", (np.ones((3, 4), dtype=np.int64), np.array([0, 1, 2])), {}, TypeError, first),
        ErrorInput("unknown reduction", (scores, np.array([0, 1, 2])), {"reduction": "avg"}, ValueError, "reduction"),
    )


def _paired_errors(first: str) -> tuple[ErrorInput, ...]:
    return (
        ErrorInput("target of another shape", (normal_array(2, 3), normal_array(3, 2)), {}, ValueError, "target"),
        ErrorInput(f"integer-typed {first}", (np.ones((2, 3), dtype=np.int64), normal_array(2, 3)), {}, TypeError, first),
        ErrorInput("target of another dtype", (normal_array(2, 3), normal_array(2, 3, dtype=np.float32)), {}, TypeError, "target"),
        ErrorInput("unknown reduction", (normal_array(2, 3), normal_array(2, 3)), {"reduction": "avg"}, ValueError, "reduction"),
    )


def _ignored_mean(first: str):
    """Some targets ignored, reduction 'mean': the mean runs over the counted rows only."""

    def make() -> Sample:
        rng = np.random.default_rng(0)
        arrays = {first: make_array(rng, (5, 4), "normal"), "target": np.array([0, -100, 3, -100, 1])}
        return Sample(arrays, {"reduction": "mean", "ignore_index": -100}, 0, "normal")

    return (EdgeCase("some targets ignored, reduction 'mean'", make, features=("ignore_index",)),)


def _class_loss_plain(first: str):
    return lambda: Sample({first: normal_array(3, 4), "target": np.array([0, 3, 1])}, {"reduction": "mean", "ignore_index": -100})


CLASS_LOSS_FEATURES = (
    REDUCTION,
    Feature("ignore_index", "ignore_index", lambda s: s.changed({"target": np.array([0, -100, 1])})),
)


def _paired_plain(first: str, target: np.ndarray):
    return lambda: Sample({first: normal_array(3, 4), "target": target}, {"reduction": "mean"})


def _class_loss_leniency(first: str) -> dict[str, str]:
    return {
        "float targets": "PyTorch reads float targets as class probabilities (soft labels); the API's targets are class indices",
        f"1-D {first}": f"PyTorch takes an unbatched (C,) {first} too; the API's are (N, C)",
    }


IGNORED_HINT = (
    "Rows whose target is ignore_index contribute 0 and are left out of the mean's count; if every row is "
    "ignored, 'mean' is NaN (0/0) as in PyTorch, with a zero gradient."
)

ENTRIES: tuple[OpEntry, ...] = (
    OpEntry(
        name="cross_entropy",
        array_args=("logits", "target"),
        grad_args=("logits",),
        outputs=("loss",),
        twin=torch_impl.cross_entropy,
        samples=class_loss_samples("logits", extra_values=("large",)),
        edge_cases=_ignored_mean("logits"),
        stricter_than_pytorch=_class_loss_leniency("logits"),
        features=CLASS_LOSS_FEATURES,
        plain_call=_class_loss_plain("logits"),
        error_inputs=_class_loss_errors("logits"),
        hints={
            "loss": "log_softmax needs the row max subtracted (logits of 1e4 overflow exp). " + IGNORED_HINT,
            "dlogits": "dlogits = (softmax - onehot(target)) * dloss, divided by the number of counted rows for 'mean'. " + IGNORED_HINT,
        },
    ),
    OpEntry(
        name="nll_loss",
        array_args=("log_probs", "target"),
        grad_args=("log_probs",),
        outputs=("loss",),
        twin=torch_impl.nll_loss,
        samples=class_loss_samples("log_probs"),
        edge_cases=_ignored_mean("log_probs"),
        stricter_than_pytorch=_class_loss_leniency("log_probs"),
        features=CLASS_LOSS_FEATURES,
        plain_call=_class_loss_plain("log_probs"),
        error_inputs=_class_loss_errors("log_probs"),
        hints={"loss": "The loss is -log_probs[n, target[n]]. " + IGNORED_HINT, "dlog_probs": IGNORED_HINT},
    ),
    OpEntry(
        name="mse_loss",
        array_args=("input", "target"),
        outputs=("loss",),
        twin=torch_impl.mse_loss,
        samples=mse_samples,
        stricter_than_pytorch={"integer-typed input": FLOAT_DATA_ONLY, "target of another dtype": ONE_DTYPE},
        features=(REDUCTION,),
        plain_call=_paired_plain("input", normal_array(3, 4, dtype=np.float64) + 1),
        error_inputs=_paired_errors("input"),
        tolerances={"float32": FLOAT32_SUMS},
        hints={"dinput": "dinput = 2 (input - target) * dloss (/ numel for 'mean').", "dtarget": "dtarget = -dinput."},
    ),
    OpEntry(
        name="binary_cross_entropy_with_logits",
        array_args=("logits", "target"),
        grad_args=("logits",),
        outputs=("loss",),
        twin=torch_impl.binary_cross_entropy_with_logits,
        samples=bce_samples,
        stricter_than_pytorch={"target of another dtype": ONE_DTYPE},
        features=(REDUCTION,),
        plain_call=_paired_plain("logits", np.linspace(0, 1, 12).reshape(3, 4)),
        error_inputs=_paired_errors("logits"),
        tolerances={"float32": FLOAT32_SUMS},
        skips=(
            Skip(
                None, "float32", values_are("large"),
                # PyTorch's (1 - t) x + softplus(-x) cancels where max(x, 0) - x t does not
                # (and the other way round): both are right to the inputs' precision.
                "float32 logits of 1e4 carry only ~1e-3 of absolute precision: exactness at 1e4 is a float64 check",
            ),
        ),
        hints={
            "loss": "Use max(x, 0) - x * t + log1p(exp(-|x|)): log(sigmoid(x)) is -inf for x = -1e4.",
            "dlogits": "dlogits = (sigmoid(x) - t) * dloss (/ numel for 'mean').",
        },
    ),
)
