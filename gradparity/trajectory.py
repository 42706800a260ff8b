"""Running an optimizer's step K times beside ``torch.optim``, and comparing at every step.

A *trajectory* is drawn parameters (1-3 arrays, 0-d to 3-d), K drawn gradients for each
and the options. The implementation's step is called K times, each call given the
parameters and the state its previous call returned; ``torch.optim`` (single-tensor,
``foreach=False``) takes the same K steps on tensors. After every step the parameters,
and the state under ``torch.optim``'s names (SPEC v2), must agree: the first step at which
they part is the one a message names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from .assertions import assert_close
from .contract import Contract
from .optimizers import STEPS, OptimizerEntry
from .sample import LAYOUTS, describe, laid_out
from .strategies import SEEDS, enabled

# How the gradients are made: "small" ones (1e-6) make v tiny, where eps's place shows;
# "sparse" ones are exact zeros in 70% of the elements (a parameter a batch does not touch).
GRADIENTS = ("normal", "small", "large", "sparse")
NAMES = ("weight", "bias", "embedding.weight")


@dataclass
class Trajectory:
    params: dict[str, np.ndarray]
    grads: list[dict[str, np.ndarray]]
    options: dict[str, Any]
    seed: int = 0
    gradients: str = "normal"
    layout: str = "contiguous"
    objective: str = ""  # the gradients are those of a real objective (then not drawn): its name

    def astype(self, dtype: str) -> Trajectory:
        def cast(arrays: dict) -> dict:
            return {key: value.astype(dtype) for key, value in arrays.items()}

        return dataclasses.replace(self, params=cast(self.params), grads=[cast(g) for g in self.grads])

    def __repr__(self) -> str:
        options = "".join(f", {name}={value!r}" for name, value in self.options.items())
        if self.objective:
            return f"(params={describe(self.params)}, grads of {self.objective}, state{options})"
        layout = f", layout={self.layout!r}" if self.layout != "contiguous" else ""
        return f"(params={describe(self.params)}, grads=<{len(self.grads)} steps>, state{options}; data seed={self.seed}, gradients={self.gradients!r}{layout})"

    def _repr_pretty_(self, printer, cycle) -> None:  # hypothesis prints it: shapes, not values
        printer.text(repr(self))


def make_gradients(rng: np.random.Generator, params: dict, steps: int, kind: str) -> list[dict[str, np.ndarray]]:
    grads = []
    for _ in range(steps):
        step = {key: rng.standard_normal(value.shape) for key, value in params.items()}
        if kind == "small":
            step = {key: 1e-6 * g for key, g in step.items()}
        elif kind == "large":
            step = {key: 1e3 * g for key, g in step.items()}
        elif kind == "sparse":
            step = {key: np.where(rng.random(g.shape) < 0.7, 0.0, g) for key, g in step.items()}
        grads.append({key: np.asarray(g) for key, g in step.items()})  # 0-d arithmetic gives NumPy scalars
    return grads


@st.composite
def trajectories(draw, entry: OptimizerEntry, features: frozenset[str] | None = None, *, max_steps: int = STEPS) -> Trajectory:
    on = enabled(features)
    shapes = draw(st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple), min_size=1, max_size=3), label="shapes")
    steps = draw(st.one_of(st.integers(1, 3), st.integers(1, max_steps)), label="K")
    seed = draw(SEEDS, label="seed")
    kind = draw(st.sampled_from(GRADIENTS), label="gradients")
    rng = np.random.default_rng(seed)
    params = entry.course_params(rng) if entry.course_params else {name: rng.standard_normal(shape) for name, shape in zip(NAMES, shapes)}
    options = entry.draw_options(draw, on)
    layout = draw(st.one_of(st.just(LAYOUTS[0]), st.sampled_from(LAYOUTS[1:])), label="layout")
    return Trajectory(params, make_gradients(rng, params, steps, kind), options, seed, kind, layout)


def fixed_trajectory(entry: OptimizerEntry, options: dict[str, Any], gradients: str = "normal", steps: int = 20) -> Trajectory:
    """One of the entry's fixed option sets on fixed data, run in every profile."""
    rng = np.random.default_rng(0)
    params = entry.course_params(rng) if entry.course_params else {"weight": rng.standard_normal((3, 4)), "bias": rng.standard_normal(3)}
    return Trajectory(params, make_gradients(rng, params, steps, gradients), dict(options), 0, gradients)


# ------------------------------------------------------------------------ calling


def call_step(entry: OptimizerEntry, step: Callable, params: dict, grads: dict, state, trajectory: Trajectory, contract: Contract) -> tuple[dict, Any]:
    """``(new_params, new_state)`` from the implementation's step, checked for its form."""
    __tracebackhide__ = True
    with contract.watching(entry.name, entry.step_name, lambda: f"{entry.step_name}{trajectory!r}"):
        result = step(params, grads, state, *entry.option_values(trajectory.options))
    if not isinstance(result, tuple) or len(result) != 2:
        raise AssertionError(f"{entry.name}: {entry.step_name} returned {type(result).__name__}, but should return (new_params, new_state)")
    new_params, new_state = result
    if not isinstance(new_params, dict) or set(new_params) != set(params):
        got = sorted(new_params) if isinstance(new_params, dict) else type(new_params).__name__
        raise AssertionError(f"{entry.name}: {entry.step_name} returned new_params {got}, but should return a dict with the keys of params {sorted(params)}")
    return new_params, new_state


def given_copies(arrays: dict, layout: str) -> dict:
    return {key: laid_out(value, layout) for key, value in arrays.items()}


class TorchTrajectory:
    """``torch.optim``'s side: the same parameters as tensors, stepped with given gradients."""

    def __init__(self, entry: OptimizerEntry, params: dict, options: dict) -> None:
        self.tensors = {key: torch.tensor(value, requires_grad=True) for key, value in params.items()}
        self.optimizer = entry.torch_class(list(self.tensors.values()), foreach=False, **entry.torch_options(options))

    def step(self, grads: dict) -> None:
        for key, tensor in self.tensors.items():
            tensor.grad = torch.tensor(grads[key])
        self.optimizer.step()

    def state(self) -> dict[str, dict[str, Any]]:
        """Per parameter name, what torch.optim keeps (``step`` as an int)."""
        return {
            key: {name: int(value) if name == "step" else value for name, value in self.optimizer.state[tensor].items() if value is not None}
            for key, tensor in self.tensors.items()
        }


def _require_keys(entry: OptimizerEntry, what: str, value, expected: dict, should: str, hint: str, trajectory: Trajectory) -> None:
    """``value`` is a dict with exactly the keys of ``expected``; else a message."""
    __tracebackhide__ = True
    if not isinstance(value, dict) or set(value) != set(expected):
        got = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise AssertionError(f"{entry.name}: {what} holds {got}, but {should} {sorted(expected)}\n  call: {entry.step_name}{trajectory!r}\n  hint: {hint}")


def compare_state(entry: OptimizerEntry, after: str, state, expected: dict, trajectory: Trajectory, dtype: str) -> None:
    """The implementation's state against torch.optim's, name by name."""
    __tracebackhide__ = True
    keyed = "SPEC v2: state[name] is a dict of what torch.optim keeps for that parameter"
    _require_keys(entry, f"new_state {after}", state, expected, "should be keyed by parameter name", keyed, trajectory)
    for key, wanted in expected.items():
        ours = state[key]
        keeps = f"torch.optim.{entry.torch_class.__name__} keeps"
        _require_keys(entry, f"new_state['{key}'] {after}", ours, wanted, keeps, "SPEC v2 keeps torch.optim's names (step as an int)", trajectory)
        for name, value in wanted.items():
            if name != "step":
                assert_close(entry, f"new_state['{key}']['{name}'] {after}", ours[name], value, trajectory, entry.tolerance(dtype))
            elif not isinstance(ours[name], (int, np.integer)) or ours[name] != value:
                raise AssertionError(
                    f"{entry.name}: new_state['{key}']['step'] {after} is {ours[name]!r}, but should be {value} (an int: steps taken)\n"
                    f"  call: {entry.step_name}{trajectory!r}"
                )


def run_trajectory(entry: OptimizerEntry, step: Callable, trajectory: Trajectory, dtype: str, contract: Contract) -> None:
    """K steps of the implementation and of torch.optim; raises at the first that differs."""
    __tracebackhide__ = True
    trajectory = trajectory.astype(dtype)
    twin = TorchTrajectory(entry, trajectory.params, trajectory.options)
    params, state = given_copies(trajectory.params, trajectory.layout), None
    steps = len(trajectory.grads)
    for k, grads in enumerate(trajectory.grads, start=1):
        params, state = call_step(entry, step, params, given_copies(grads, trajectory.layout), state, trajectory, contract)
        twin.step(grads)
        after = f"after step {k} of {steps}"
        for key, tensor in twin.tensors.items():
            assert_close(entry, f"params['{key}'] {after}", params[key], tensor, trajectory, entry.tolerance(dtype))
        if entry.compares_state:
            compare_state(entry, after, state, twin.state(), trajectory, dtype)
