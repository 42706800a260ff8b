"""What the registry says about one layer: ``OpEntry`` and its parts.

An entry names the layer (its functions are ``NAME_forward``/``NAME_backward``), its array
arguments in order, which of them get gradients, the PyTorch twin, a strategy of valid
calls, per-dtype tolerances (each loosening with its reason), the bad inputs it must
reject, hints (the classic cause of a mismatch in one output or gradient), and its
optional features: what a learner's first version may leave out (``Feature``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .sample import Sample


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    reason: str = "torch.testing.assert_close's defaults for this dtype"


# assert_close's defaults: float64 leaves no room for a bug to hide.
DEFAULT_TOLERANCES = {
    "float64": Tolerance(1e-7, 1e-7),
    "float32": Tolerance(1.3e-6, 1e-5),
}


@dataclass(frozen=True)
class ErrorInput:
    """A bad call and what it must raise: ``exception`` with a message naming the
    function and ``argument``."""

    description: str
    arrays: tuple[Any, ...]
    kwargs: dict[str, Any]
    exception: type[Exception]
    argument: str


@dataclass(frozen=True)
class Feature:
    """An optional part of a layer's API that a learner-sized implementation may leave out
    (pair hyperparameters, dilation, ``bias=None``, ...). The strategy draws it only for
    implementations that support it: one whose forward has no ``parameter`` (counted by
    position: a learner's names may differ) does not, nor one whose forward or backward
    raises on ``probe``, the entry's plain call changed to use the feature."""

    name: str  # as the summary table says it: "passed (without dilation, groups)"
    parameter: str | None = None
    probe: Callable[[Sample], Sample] | None = None


@dataclass(frozen=True)
class OpEntry:
    name: str
    array_args: tuple[str, ...]  # every array argument of the forward, in order
    twin: Callable[..., Any]
    samples: Callable[..., st.SearchStrategy[Sample]]  # samples(for_gradcheck=bool)
    error_inputs: tuple[ErrorInput, ...] = ()
    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)  # keyed "out", "dx", "dweight", ...
    # The forward's outputs before its cache, named as in messages and hints.
    outputs: tuple[str, ...] = ("out",)
    # The arguments whose gradients the backward returns, in order (default: all arrays).
    grad_args: tuple[str, ...] | None = None
    # Every parameter of the forward in SPEC order, where hyperparameters come between
    # arrays (dropout's mask, layer_norm's normalized_shape); default: arrays, then the rest.
    signature: tuple[str, ...] | None = None
    # Kinds of values compared in float64 only, each with its reason beside the entry.
    float64_only_values: tuple[str, ...] = ()
    # Calls compared in float32 only when this holds (its reason beside the entry).
    float32_compares: Callable[[Sample], bool] | None = None
    # Arrays the forward updates in place when training (batch norm's running statistics).
    state_args: tuple[str, ...] = ()
    # Optional features, and a tiny call that uses none of them (each probe changes it).
    features: tuple[Feature, ...] = ()
    plain_call: Callable[[], Sample] | None = None

    @property
    def gradient_args(self) -> tuple[str, ...]:
        return self.array_args if self.grad_args is None else self.grad_args

    def __repr__(self) -> str:  # hypothesis prints it in every falsifying example: keep it short
        return f"OpEntry({self.name!r})"

    def _repr_pretty_(self, printer, cycle) -> None:  # hypothesis's pretty-printer (it expands dataclasses)
        printer.text(repr(self))

    @property
    def forward_name(self) -> str:
        return f"{self.name}_forward"

    @property
    def backward_name(self) -> str:
        return f"{self.name}_backward"

    def compares(self, sample: Sample, dtype: str) -> bool:
        """Whether this sample's kind of values is compared in ``dtype``."""
        if dtype == "float64":
            return True
        return sample.values not in self.float64_only_values and (self.float32_compares is None or self.float32_compares(sample))

    def feature(self, name: str) -> Feature:
        return next(feature for feature in self.features if feature.name == name)

    def tolerance(self, dtype: str) -> Tolerance:
        return self.tolerances.get(dtype, DEFAULT_TOLERANCES[dtype])


def normal_array(*shape: int, dtype=np.float64) -> np.ndarray:
    """Fixed data for error inputs (they are examples, not properties)."""
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)
