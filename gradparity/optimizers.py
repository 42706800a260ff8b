"""The optimizers the suite checks (SPEC v2's ``*_step`` functions), each described once.

An optimizer is not a layer pair: it is one function, ``NAME_step(params, grads, state,
*options)``, checked by the *trajectory* family (``checks/test_trajectory.py``): K steps
from drawn parameters along drawn gradients, the parameters and the state equal to
``torch.optim``'s at every step. Its entry names the ``torch.optim`` class, the options in
the SPEC's order (each an optional ``Feature``: a learner's first Adam may take no
``amsgrad``), how to draw them, fixed option sets that every profile runs (where the
subtle bugs live), hints and the bad calls it must reject.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from .op_entry import DEFAULT_TOLERANCES, ErrorInput, Feature, Tolerance

# Over K steps each float32 implementation rounds its own way, and Adam and RMSprop divide
# by sqrt(v) + eps, which magnifies a rounding of v where v is small. Measured against
# torch.optim's float32 (the reference's float32 trajectories, every option drawn, 3000
# trajectories of up to 50 steps each): parameters and state within 1.7e-6 of
# torch's (|a - b| / (1 + |b|)) for SGD, Adam and AdamW. A bug moves them by far more (eps
# inside the root: ~1e-2; no bias correction: ~1e-1). float64 stays at assert_close's defaults.
FLOAT32_TRAJECTORY = Tolerance(1e-5, 1e-5, "K float32 steps, each rounding its own way, divided by sqrt(v) + eps: measured up to 1.7e-6 apart")
# Centered RMSprop divides by sqrt(v - mean**2): where the gradients hardly vary, the
# variance cancels down to a few float32 ulps of mean**2. Measured: up to 8e-6 apart.
FLOAT32_RMSPROP = Tolerance(5e-5, 5e-5, "centered: sqrt(v - mean**2) cancels where gradients hardly vary; measured up to 8e-6 apart over 3000 float32 trajectories")
# Where float32 cannot say anything, it is not asked (the trajectory is compared in float64).
FLOAT32_LARGE = "gradients of 1e3 carry float32 rounding of 1e-4 into moving averages that cancel to O(1): compared in float64 only"
FLOAT32_NEAR_CONSTANT = (
    "centered RMSprop on weight_decay * p plus 1e-6 noise: the variance v - mean**2 is 1e-8 of mean**2, below float32's "
    "precision: compared in float64 only"
)


def float32_skip(trajectory) -> str | None:
    """Why a trajectory is compared in float64 only, or None."""
    if trajectory.gradients == "large":
        return FLOAT32_LARGE
    options = trajectory.options
    if options.get("centered") and trajectory.gradients == "small" and options.get("weight_decay"):
        return FLOAT32_NEAR_CONSTANT
    return None


STEPS = 50  # the most steps a drawn trajectory takes (the K <= 50)
RATES = st.sampled_from([1e-3, 1e-2, 0.1, 0.5])
DECAYS = st.sampled_from([1e-2, 0.1])


@dataclass(frozen=True)
class OptimizerEntry:
    name: str  # the row: "adam"; its function is "adam_step"
    torch_class: Callable[..., torch.optim.Optimizer]  # called with foreach=False (every one here takes it)
    options: tuple[str, ...]  # the step's options, in the SPEC's order (after params, grads, state)
    draw_options: Callable[[Any, Callable[[str], bool]], dict]  # (draw, on) -> options
    defaults: dict[str, Any]  # the SPEC's defaults (sgd's lr has none: always drawn)
    # Option sets run in every profile (the subtle bugs' options), each with the options it needs.
    fixed_options: tuple[dict[str, Any], ...] = ()
    hints: dict[str, str] = field(default_factory=dict)  # keyed "params" or a state name
    error_inputs: tuple[ErrorInput, ...] = ()
    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    # For messages and course styles, as OpEntry: how they name it.
    title: str = ""
    call_label: str = ""
    converted_layout: bool = False
    api_name: str = ""
    # A course's step keeps its own state: compare it under torch's names only if it is the API's.
    compares_state: bool = True
    # A course's parameters (W1, b1, ... pairs), from the trajectory's generator; None: drawn shapes.
    course_params: Callable[[np.random.Generator], dict[str, np.ndarray]] | None = None
    float64_only: bool = False  # a course's code computes in float64 (np.zeros)
    plain_call = None  # features are told apart by the step's parameters only (``features.py``)
    has_backward = False

    @property
    def forward_name(self) -> str:  # the function messages name ("call: adam_step(...)")
        return f"{self.name}_step"

    @property
    def step_name(self) -> str:
        return self.forward_name

    @property
    def features(self) -> tuple[Feature, ...]:
        """Every option is optional: a function that takes fewer is checked at the defaults."""
        return tuple(Feature(option, option) for option in self.options)

    def with_features_left_out(self, names) -> OptimizerEntry:
        return self  # the options not taken are never drawn (``drawn_options``)

    def tolerance(self, dtype: str) -> Tolerance:
        return self.tolerances.get(dtype, DEFAULT_TOLERANCES[dtype])

    def option_values(self, options: dict[str, Any]) -> list:
        """The options positionally, in the SPEC's order, up to the last one given."""
        given = [i for i, name in enumerate(self.options) if name in options]
        return [options.get(name, self.defaults.get(name)) for name in self.options[: given[-1] + 1]] if given else []

    def torch_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return {**self.defaults, **options}

    def __repr__(self) -> str:
        return f"OptimizerEntry({self.name!r})"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))


# ---------------------------------------------------------------------------- drawing


def _maybe(draw, on, name: str, values, default, label: str | None = None):
    """A drawn value of option ``name`` when the implementation takes it, else its default."""
    return draw(values, label=label or name) if on(name) else default


def _sgd_options(draw, on) -> dict:
    options = {"lr": draw(RATES, label="lr")}
    momentum = _maybe(draw, on, "momentum", st.sampled_from([0.0, 0.5, 0.9]), 0.0)
    nesterov = momentum > 0 and _maybe(draw, on, "nesterov", st.booleans(), False)
    # Dampening only means something with momentum, and Nesterov needs it 0.
    dampening = 0.0 if nesterov or momentum == 0 else _maybe(draw, on, "dampening", st.sampled_from([0.0, 0.1, 0.5]), 0.0)
    decay = _maybe(draw, on, "weight_decay", st.one_of(st.just(0.0), DECAYS), 0.0)
    maximize = _maybe(draw, on, "maximize", st.booleans(), False)
    values = {"momentum": momentum, "dampening": dampening, "weight_decay": decay, "nesterov": nesterov, "maximize": maximize}
    return options | {name: value for name, value in values.items() if on(name)}


def _adam_options(decay_default: float):
    def draw_options(draw, on) -> dict:
        values = {
            "lr": _maybe(draw, on, "lr", RATES, 1e-3),
            "betas": _maybe(draw, on, "betas", st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.99), (0.9, 0.5)]), (0.9, 0.999)),
            "eps": _maybe(draw, on, "eps", st.sampled_from([1e-8, 1e-3]), 1e-8),
            "weight_decay": _maybe(draw, on, "weight_decay", st.one_of(st.just(decay_default), st.just(0.0), DECAYS), decay_default),
            "amsgrad": _maybe(draw, on, "amsgrad", st.booleans(), False),
            "maximize": _maybe(draw, on, "maximize", st.booleans(), False),
        }
        return {name: value for name, value in values.items() if on(name)}

    return draw_options


def _rmsprop_options(draw, on) -> dict:
    values = {
        "lr": _maybe(draw, on, "lr", RATES, 1e-2),
        "alpha": _maybe(draw, on, "alpha", st.sampled_from([0.99, 0.9, 0.5]), 0.99),
        "eps": _maybe(draw, on, "eps", st.sampled_from([1e-8, 1e-3]), 1e-8),
        "weight_decay": _maybe(draw, on, "weight_decay", st.one_of(st.just(0.0), DECAYS), 0.0),
        "momentum": _maybe(draw, on, "momentum", st.sampled_from([0.0, 0.9, 0.5]), 0.0),
        "centered": _maybe(draw, on, "centered", st.booleans(), False),
        "maximize": _maybe(draw, on, "maximize", st.booleans(), False),
    }
    return {name: value for name, value in values.items() if on(name)}


# ------------------------------------------------------------------------ bad calls


def _bad_calls(function_options: dict[str, Any], specific: tuple[ErrorInput, ...]) -> tuple[ErrorInput, ...]:
    params = {"weight": np.ones((2, 3)), "bias": np.zeros(2)}
    grads = {"weight": np.full((2, 3), 0.5), "bias": np.full(2, 0.5)}
    return (
        ErrorInput("params as a list", (list(params.values()), grads, None), function_options, TypeError, "params"),
        ErrorInput("grads without the key 'bias'", (params, {"weight": grads["weight"]}, None), function_options, ValueError, "grads"),
        ErrorInput("a gradient of another shape", (params, {**grads, "bias": np.ones(3)}, None), function_options, ValueError, "grads"),
        ErrorInput("integer parameters", ({"weight": np.ones((2, 3), dtype=np.int64)}, {"weight": np.ones((2, 3), dtype=np.int64)}, None), function_options, TypeError, "params"),
        ErrorInput("a state keyed by another parameter", (params, grads, {"other": {}}), function_options, ValueError, "state"),
        ErrorInput("a negative learning rate", (params, grads, None), {**function_options, "lr": -0.1}, ValueError, "lr"),
        ErrorInput("a learning rate given as a string", (params, grads, None), {**function_options, "lr": "0.1"}, TypeError, "lr"),
        *specific,
    )


def _bad(description: str, options: dict[str, Any], exception: type[Exception], argument: str) -> ErrorInput:
    params, grads = {"weight": np.ones((2, 3))}, {"weight": np.full((2, 3), 0.5)}
    return ErrorInput(description, (params, grads, None), options, exception, argument)


# -------------------------------------------------------------------------- entries

BIAS_CORRECTION = (
    "Adam: m = beta1 * m + (1 - beta1) * g and v = beta2 * v + (1 - beta2) * g**2 (both from 0), bias-corrected with "
    "1 - beta**t where t counts steps from 1 (the first step is t = 1), then p -= lr * m_hat / (sqrt(v_hat) + eps): eps "
    "outside the square root."
)
SGD_HINT = (
    "SGD: g = grad (+ weight_decay * p, before the momentum); buf = g on the first step (no dampening then), then "
    "buf = momentum * buf + (1 - dampening) * g; p -= lr * buf, or with nesterov p -= lr * (g + momentum * buf)."
)
RMSPROP_HINT = (
    "RMSprop: v = alpha * v + (1 - alpha) * g**2; centered: also mean = alpha * mean + (1 - alpha) * g, and the "
    "denominator is sqrt(v - mean**2) + eps (eps outside the root); with momentum, buf = momentum * buf + g / denominator "
    "and p -= lr * buf."
)
STATE = "state[name] holds step (an int), exp_avg (m) and exp_avg_sq (v), uncorrected; with amsgrad also max_exp_avg_sq."
AMSGRAD = "amsgrad keeps the elementwise maximum of exp_avg_sq itself (before the bias correction) and divides by it."
MAXIMIZE = "maximize=True negates the gradient first (before the weight decay is added)."

ENTRIES: tuple[OptimizerEntry, ...] = (
    OptimizerEntry(
        name="sgd",
        torch_class=torch.optim.SGD,
        options=("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"),
        draw_options=_sgd_options,
        defaults={"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False, "maximize": False},
        fixed_options=(
            {"lr": 0.1},
            {"lr": 0.1, "momentum": 0.9, "dampening": 0.5},
            {"lr": 0.1, "momentum": 0.9, "nesterov": True},
            {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1},
            {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.1, "maximize": True},
        ),
        hints={"params": f"{SGD_HINT} {MAXIMIZE}", "new_state": f"state[name]['momentum_buffer'] holds buf. {SGD_HINT}"},
        error_inputs=_bad_calls({"lr": 0.1}, (
            _bad("nesterov without momentum", {"lr": 0.1, "nesterov": True}, ValueError, "nesterov"),
            _bad("a negative momentum", {"lr": 0.1, "momentum": -0.5}, ValueError, "momentum"),
        )),
        tolerances={"float32": FLOAT32_TRAJECTORY},
    ),
    OptimizerEntry(
        name="adam",
        torch_class=torch.optim.Adam,
        options=("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"),
        draw_options=_adam_options(0.0),
        defaults={"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False, "maximize": False},
        fixed_options=(
            {"lr": 0.1},
            {"lr": 0.1, "eps": 1e-3},
            {"lr": 0.1, "betas": (0.5, 0.9), "amsgrad": True},
            {"lr": 0.1, "weight_decay": 0.1, "maximize": True},
        ),
        hints={"params": f"{BIAS_CORRECTION} weight_decay adds weight_decay * p to the gradient (L2). {MAXIMIZE}", "new_state": f"{STATE} {AMSGRAD}"},
        error_inputs=_bad_calls({}, (
            _bad("beta2 of 1", {"betas": (0.9, 1.0)}, ValueError, "betas"),
            _bad("a negative eps", {"eps": -1e-8}, ValueError, "eps"),
        )),
        tolerances={"float32": FLOAT32_TRAJECTORY},
    ),
    OptimizerEntry(
        name="adamw",
        torch_class=torch.optim.AdamW,
        options=("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"),
        draw_options=_adam_options(1e-2),
        defaults={"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False, "maximize": False},
        fixed_options=({"lr": 0.1}, {"lr": 0.1, "weight_decay": 0.1}, {"lr": 0.1, "eps": 1e-3, "amsgrad": True}),
        hints={"params": f"AdamW decays the parameter itself, p *= 1 - lr * weight_decay, before Adam's step (the gradient is left alone). {BIAS_CORRECTION}",
               "new_state": f"{STATE} {AMSGRAD}"},
        error_inputs=_bad_calls({}, (_bad("a negative weight decay", {"weight_decay": -0.1}, ValueError, "weight_decay"),)),
        tolerances={"float32": FLOAT32_TRAJECTORY},
    ),
    OptimizerEntry(
        name="rmsprop",
        torch_class=torch.optim.RMSprop,
        options=("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"),
        draw_options=_rmsprop_options,
        defaults={"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False, "maximize": False},
        fixed_options=(
            {"lr": 0.01},
            {"lr": 0.01, "alpha": 0.9, "eps": 1e-3},
            {"lr": 0.01, "alpha": 0.9, "centered": True},
            {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1},
        ),
        hints={"params": f"{RMSPROP_HINT} {MAXIMIZE}", "new_state": f"state[name] holds step, square_avg (v), grad_avg (mean, centered) and momentum_buffer (buf). {RMSPROP_HINT}"},
        error_inputs=_bad_calls({}, (_bad("a negative alpha", {"alpha": -0.5}, ValueError, "alpha"),)),
        tolerances={"float32": FLOAT32_RMSPROP},
    ),
)

BY_NAME = {entry.name: entry for entry in ENTRIES}
NAMES = tuple(BY_NAME)


def course_optimizer(entry: OptimizerEntry, name: str, *, options: tuple[str, ...], **changes) -> OptimizerEntry:
    """``entry`` as a course's update function checks it: renamed (its step is then
    ``name_step`` in the adapted module), restricted to the course's ``options`` (its fixed
    sets too, unless given), float64 only, its own state not compared under torch's names."""
    fixed = tuple(o for o in entry.fixed_options if set(o) <= set(options))
    changes = {"fixed_options": fixed, "compares_state": False, "float64_only": True, **changes}
    return replace(entry, name=name, options=options, api_name=entry.api_name or entry.name, **changes)
