"""Optimizers (SPEC v2's ``*_step``): the trajectory, purity and errors columns of their rows.

- **trajectory**: K steps (K drawn up to 50) from drawn parameters along drawn gradients,
  every option the step takes drawn, parameters and state equal to ``torch.optim``'s at
  every step, in float64 and float32; each entry's fixed option sets (the subtle bugs'
  options) in every profile; and real objectives optimised side by side, the losses equal
  at every step: an ill-conditioned quadratic (condition number 1e3) and LeNet-5 trained
  for 20 steps through the reference's layers.
- **purity**: a step modifies none of its arguments (params, grads, the state it is given).
- **errors**: bad calls raise the documented error naming the function and the argument.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

import reference
import torch_impl.models

from .. import api
from ..assertions import assert_close, assert_unchanged
from ..bad_calls import UNDOCUMENTED, positional, rejection_problem
from ..contract import UNJUDGED
from ..implementation import NOT_CHECKED
from ..model_checks import ModelCheck
from ..optimizers import float32_skip
from ..plugin import check_settings, checked_optimizers
from ..registry import DTYPES_CHECKED
from ..summary import NOT_APPLICABLE
from ..trajectory import TorchTrajectory, Trajectory, call_step, fixed_trajectory, given_copies, run_trajectory, trajectories

ENTRIES = checked_optimizers()
DTYPES = list(DTYPES_CHECKED)
FIXED = [(entry, index) for entry in ENTRIES for index in range(len(entry.fixed_options))]


def supported(impl, entry, options: dict) -> bool:
    """Whether the implementation's step takes every option of ``options``."""
    features = impl.features(entry)
    return all(name in features for name in options)


def float64_only(entry, dtype: str) -> None:
    if entry.float64_only and dtype != "float64":
        pytest.skip(f"{NOT_APPLICABLE}: the course's functions compute in float64 (np.zeros): checked in float64 only")


def fixed_id(value) -> str:
    return getattr(value, "name", str(value))


@pytest.mark.check("trajectory")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
@check_settings
@given(data=st.data())
def test_trajectory(impl, contract, entry, dtype, data):
    step = impl.get(entry.step_name)
    float64_only(entry, dtype)
    trajectory = data.draw(trajectories(entry, impl.features(entry)), label=entry.name)
    assume(dtype == "float64" or float32_skip(trajectory) is None)
    run_trajectory(entry, step, trajectory, dtype, contract)


@pytest.mark.check("trajectory")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("entry", "index"), FIXED, ids=fixed_id)
def test_trajectory_fixed_options(impl, contract, entry, index, dtype):
    """Each entry's fixed option sets on plain, small and sparse gradients, in every profile."""
    step = impl.get(entry.step_name)
    float64_only(entry, dtype)
    options = entry.fixed_options[index]
    if not supported(impl, entry, options):
        pytest.skip(f"{NOT_CHECKED}: {entry.step_name} takes no {', '.join(sorted(set(options) - impl.features(entry)))}")
    for gradients in ("normal", "small", "sparse"):
        run_trajectory(entry, step, fixed_trajectory(entry, options, gradients), dtype, contract)


# ------------------------------------------------------------------- real objectives


def richest_options(impl, entry, lr: float) -> list[dict]:
    """The plain options and the richest fixed set the step takes, at learning rate ``lr``."""
    usable = [options for options in entry.fixed_options if supported(impl, entry, options)]
    if not usable:
        return []
    chosen = [usable[0]] + [options for options in [max(usable, key=len)] if options is not usable[0]]
    return [{**options, "lr": lr} for options in chosen]


def quadratic(seed: int, shapes: dict[str, tuple[int, ...]]):
    """f(p) = sum over keys of 1/2 (p - c)^T A (p - c), each A symmetric positive definite
    with eigenvalues from 1e-3 to 1 (condition number 1e3): slow directions and fast ones."""
    rng = np.random.default_rng(seed)
    problem = {}
    for key, shape in shapes.items():
        size = int(np.prod(shape))
        basis, _ = np.linalg.qr(rng.standard_normal((size, size)))
        problem[key] = ((basis * np.geomspace(1e-3, 1.0, size)) @ basis.T, rng.standard_normal(size))
    return problem


QUADRATIC_RATES = {"sgd": 0.1}  # the others: 0.01


@pytest.mark.check("trajectory")
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_trajectory_on_an_ill_conditioned_quadratic(impl, contract, entry):
    """50 steps on a quadratic, gradients from each side's own parameters: losses equal at
    every step (float64)."""
    step = impl.get(entry.step_name)
    shapes = {"weight": (4, 5), "bias": (6,)}
    problem = quadratic(0, shapes)
    start = {key: np.random.default_rng(1).standard_normal(shape) for key, shape in shapes.items()}

    def numpy_loss_and_grads(params):
        loss, grads = 0.0, {}
        for key, (matrix, centre) in problem.items():
            offset = params[key].reshape(-1) - centre
            loss += 0.5 * offset @ matrix @ offset
            grads[key] = (matrix @ offset).reshape(params[key].shape)
        return loss, grads

    check = ModelCheck(entry.name, entry.step_name, entry.hints)
    # Adaptive steps are about lr long whatever the curvature: at 0.1 they reach the optimum
    # within 50 steps and then hop across it, where g / sqrt(v) magnifies a last-bit
    # difference of the two sides' gradients (5e-7 seen at step 42). At 0.01 they approach it.
    for options in richest_options(impl, entry, lr=QUADRATIC_RATES.get(entry.api_name or entry.name, 0.01)):
        twin = TorchTrajectory(entry, start, options)
        params, state = dict(start), None
        trajectory = Trajectory(start, [], options, objective="the quadratic 1/2 (p - c)^T A (p - c), A's eigenvalues 1e-3 to 1")
        for k in range(1, 51):
            loss, grads = numpy_loss_and_grads(params)
            torch_loss = sum(0.5 * (t.reshape(-1) - torch.tensor(c)) @ torch.tensor(m) @ (t.reshape(-1) - torch.tensor(c)) for (m, c), t in zip(problem.values(), twin.tensors.values()))
            twin.optimizer.zero_grad()
            torch_loss.backward()
            twin.optimizer.step()
            assert_close(check, f"the quadratic's loss before step {k}", np.asarray(loss), torch_loss, trajectory, entry.tolerance("float64"))
            params, state = call_step(entry, step, params, grads, state, trajectory, contract)
            for key, tensor in twin.tensors.items():
                assert_close(check, f"params['{key}'] after step {k} on the quadratic", params[key], tensor, trajectory, entry.tolerance("float64"))


LENET_RATES = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3}


@pytest.mark.check("trajectory")
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_trajectory_training_lenet5(impl, contract, entry):
    """LeNet-5 trained 20 steps on one synthetic batch: gradients by the reference's layers,
    steps by the implementation's optimizer; beside it the PyTorch twin with torch.optim.
    Losses equal at every step, every parameter after the last (float64)."""
    step = impl.get(entry.step_name)
    torch.manual_seed(0)
    twin = torch_impl.models.LeNet5(num_classes=10).double()
    model = reference.models.LeNet5(num_classes=10)
    rng = np.random.default_rng(0)
    images, labels = rng.standard_normal((4, 1, 32, 32)), rng.integers(0, 10, size=4)
    check = ModelCheck(entry.name, entry.step_name, entry.hints)
    start = {key: value.detach().numpy().copy() for key, value in twin.state_dict().items()}
    for options in richest_options(impl, entry, lr=LENET_RATES.get(entry.api_name or entry.name, 1e-3)):
        twin.load_state_dict({key: torch.tensor(value) for key, value in start.items()})
        model.load_state_dict(start)
        optimizer = entry.torch_class(twin.parameters(), foreach=False, **entry.torch_options(options))
        trajectory = Trajectory(dict(model.params), [], options, objective="LeNet-5's cross entropy on one batch of 4 (the reference's layers)")
        state = None
        for k in range(1, 21):
            loss, loss_cache = reference.cross_entropy_forward(model.forward(images, training=True), labels)
            grads = model.backward(reference.cross_entropy_backward(np.float64(1.0), loss_cache))
            optimizer.zero_grad()
            torch_loss = torch.nn.functional.cross_entropy(twin(torch.tensor(images)), torch.tensor(labels))
            torch_loss.backward()
            optimizer.step()
            assert_close(check, f"LeNet-5's loss before step {k}", np.asarray(loss), torch_loss, trajectory, entry.tolerance("float64"))
            params = {key: model.params[key] for key in grads}
            new_params, state = call_step(entry, step, params, grads, state, trajectory, contract)
            model.params.update(new_params)
        for key, value in twin.state_dict().items():
            assert_close(check, f"LeNet-5's {key} after 20 steps", np.asarray(model.params[key]), value, trajectory, entry.tolerance("float64"))


# ------------------------------------------------------------------------ purity


@pytest.mark.check("purity")
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
@check_settings
@given(data=st.data())
def test_optimizer_purity(impl, entry, data):
    """The last of 1-3 steps is given the state of the ones before: params, grads and that
    state must come out unchanged (the step returns new ones)."""
    step = impl.get(entry.step_name)
    trajectory = data.draw(trajectories(entry, impl.features(entry), max_steps=3), label=entry.name)
    params, state = trajectory.params, None
    try:
        for grads in trajectory.grads[:-1]:
            params, state = call_step(entry, step, params, grads, state, trajectory, UNJUDGED)
    except Exception:  # a step that raises or returns the wrong form is the trajectory column's to report
        return
    before = (copy.deepcopy(params), copy.deepcopy(trajectory.grads[-1]), copy.deepcopy(state))
    given_params, given_grads = given_copies(params, trajectory.layout), given_copies(trajectory.grads[-1], trajectory.layout)
    given_state = copy.deepcopy(state)
    try:
        call_step(entry, step, given_params, given_grads, given_state, trajectory, UNJUDGED)
    except Exception:
        return
    for name, old, new in zip(("params", "grads"), before[:2], (given_params, given_grads)):
        assert_unchanged(entry, name, old, new, trajectory, entry.step_name)
    for key, old in (before[2] or {}).items():
        new = given_state.get(key, {}) if isinstance(given_state, dict) else {}
        for name, value in old.items() if isinstance(old, dict) else ():
            now = new.get(name) if isinstance(new, dict) else None
            if isinstance(value, np.ndarray) and isinstance(now, np.ndarray) and value.shape == now.shape:
                assert_unchanged(entry, f"state['{key}']['{name}']", value, now, trajectory, entry.step_name)
            elif not (type(value) is type(now) and np.array_equal(value, now)):
                raise AssertionError(
                    f"{entry.name}: {entry.step_name} modified its argument 'state' in place: state['{key}']['{name}'] was {value!r}, is {now!r}\n"
                    f"  call: {entry.step_name}{trajectory!r}\n  hint: build a new state dict (new_state[name] = {{...}}): callers keep the old one."
                )


# ------------------------------------------------------------------------ errors

CASES = [(entry, error) for entry in ENTRIES for error in entry.error_inputs]


@pytest.mark.check("errors")
@pytest.mark.parametrize(("entry", "error"), CASES, ids=[f"{e.name}-{err.description}" for e, err in CASES])
def test_optimizer_bad_input_raises(impl, contract, entry, error):
    step = impl.get(entry.step_name)
    if impl.is_course:
        pytest.skip(f"{NOT_APPLICABLE}: {impl.style}'s functions do not specify what bad input raises")
    args = positional(entry.step_name, error.arrays, error.kwargs)
    if len(args) > api.positional_capacity(step):
        pytest.skip(f"{NOT_CHECKED}: {entry.step_name} takes fewer arguments than this bad call needs")
    problem = rejection_problem(entry, error, step, copy.deepcopy(args))
    if problem is not None:
        contract.breach(UNDOCUMENTED, lambda: problem)
