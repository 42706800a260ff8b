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
class Skip:
    """Samples a check does not compare, in the manner of OpInfo's ``DecorateInfo``: for
    ``check`` (None: every check) in ``dtype`` (None: every dtype), the samples for which
    ``condition`` holds (None: all of them), for ``reason`` (said beside the entry, and in
    the README)."""

    check: str | None
    dtype: str | None
    condition: Callable[[Sample], bool] | None
    reason: str

    def covers(self, check: str, dtype: str) -> bool:
        return self.check in (None, check) and self.dtype in (None, dtype)

    def applies(self, check: str, dtype: str, sample: Sample) -> bool:
        return self.covers(check, dtype) and (self.condition is None or self.condition(sample))


def values_are(*kinds: str) -> Callable[[Sample], bool]:
    """A ``Skip`` condition: the sample's data is of one of these kinds ('large', ...)."""
    return lambda sample: sample.values in kinds


@dataclass(frozen=True)
class EdgeCase:
    """A call every profile runs, whatever hypothesis draws: the tie- and kink-sensitive
    cases in the plainest configuration (no padding, no dilation, floor mode), the one
    learners use most, where a derandomized run of few examples might not land."""

    description: str
    make: Callable[[], Sample]
    features: tuple[str, ...] = ()  # the optional features it uses (else: plain)


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
    # Samples a check does not compare (in float32, mostly), each with its reason.
    skips: tuple[Skip, ...] = ()
    # Arrays the forward updates in place when training (batch norm's running statistics).
    state_args: tuple[str, ...] = ()
    # Optional features, and a tiny call that uses none of them (each probe changes it).
    features: tuple[Feature, ...] = ()
    plain_call: Callable[[], Sample] | None = None
    # Calls run in every profile, besides the drawn ones (forward, backward, purity).
    edge_cases: tuple[EdgeCase, ...] = ()
    # A forward-only function (a course's helper, a loss that returns its gradient): the
    # backward-side checks do not apply.
    has_backward: bool = True
    # Outputs and gradients along whose axis time runs, or layers (and directions) stack:
    # a mismatch there names the first time step (or layer) at which it differs.
    time_axes: dict[str, int] = field(default_factory=dict)
    layer_axes: dict[str, int] = field(default_factory=dict)
    # How messages name it where ``name`` is internal: a course's functions ("pool_forward /
    # pool_backward (max)"), the function a "call:" line shows, and whether that call's
    # arrays are in PyTorch's layout (a course adapter converted the learner's to them).
    title: str = ""
    call_label: str = ""
    converted_layout: bool = False
    # A course's entry drawn from an API layer: that layer's name (its bad calls are the API's).
    api_name: str = ""
    # Bad calls the twin accepts: description -> why the API is stricter than PyTorch.
    # Every other bad call must make the twin raise too (tests/test_registry.py).
    stricter_than_pytorch: dict[str, str] = field(default_factory=dict)

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

    def skipped_entirely(self, check: str, dtype: str) -> Skip | None:
        """The skip that leaves ``check`` in ``dtype`` out for every sample, if any."""
        return next((skip for skip in self.skips if skip.condition is None and skip.covers(check, dtype)), None)

    def compares(self, check: str, dtype: str, sample: Sample) -> bool:
        """Whether ``check`` compares ``sample`` in ``dtype`` (no ``Skip`` applies)."""
        return not any(skip.applies(check, dtype, sample) for skip in self.skips)

    def with_features_left_out(self, names) -> OpEntry:
        """This entry without the named features (a course's function cannot take them):
        nothing probes or draws them."""
        from dataclasses import replace

        return replace(self, features=tuple(feature for feature in self.features if feature.name not in names)) if names else self

    def feature(self, name: str) -> Feature:
        return next(feature for feature in self.features if feature.name == name)

    def tolerance(self, dtype: str) -> Tolerance:
        return self.tolerances.get(dtype, DEFAULT_TOLERANCES[dtype])


# Why the API rejects integer data that PyTorch computes on (relu, max pooling, mse, ...).
FLOAT_DATA_ONLY = "PyTorch computes it on integer tensors too; the API's layers take float data (float32 in, float32 out)"
# Why the API rejects mixed dtypes that PyTorch promotes.
ONE_DTYPE = "PyTorch promotes mixed dtypes; the API takes one float dtype and returns it"


def normal_array(*shape: int, dtype=np.float64) -> np.ndarray:
    """Fixed data for error inputs (they are examples, not properties)."""
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)
