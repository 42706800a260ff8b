"""The reference's optimizer steps (SPEC v2) against ``torch.optim``'s single-tensor
algorithms: K steps from drawn parameters along a drawn sequence of gradients, every
option drawn, the parameters and the state equal at every step in float64; the inputs
never modified; bad options refused as torch.optim refuses them."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import reference

OPTIMIZERS = {  # reference step -> torch.optim class, and how to draw its options
    "sgd_step": (torch.optim.SGD, lambda draw: _sgd_options(draw)),
    "adam_step": (torch.optim.Adam, lambda draw: _adam_options(draw)),
    "adamw_step": (torch.optim.AdamW, lambda draw: _adam_options(draw)),
    "rmsprop_step": (torch.optim.RMSprop, lambda draw: _rmsprop_options(draw)),
}
RATES = st.sampled_from([1e-3, 1e-2, 0.1, 0.5])
DECAYS = st.sampled_from([0.0, 0.0, 1e-2, 0.1])


def _sgd_options(draw) -> dict:
    momentum = draw(st.sampled_from([0.0, 0.5, 0.9]), label="momentum")
    nesterov = momentum > 0 and draw(st.booleans(), label="nesterov")
    dampening = 0.0 if nesterov else draw(st.sampled_from([0.0, 0.1, 0.5]), label="dampening")
    return {
        "lr": draw(RATES, label="lr"), "momentum": momentum, "dampening": dampening, "nesterov": nesterov,
        "weight_decay": draw(DECAYS, label="weight_decay"), "maximize": draw(st.booleans(), label="maximize"),
    }


def _adam_options(draw) -> dict:
    return {
        "lr": draw(RATES, label="lr"), "betas": draw(st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)]), label="betas"),
        "eps": draw(st.sampled_from([1e-8, 1e-3]), label="eps"), "weight_decay": draw(DECAYS, label="weight_decay"),
        "amsgrad": draw(st.booleans(), label="amsgrad"), "maximize": draw(st.booleans(), label="maximize"),
    }


def _rmsprop_options(draw) -> dict:
    return {
        "lr": draw(RATES, label="lr"), "alpha": draw(st.sampled_from([0.99, 0.9, 0.5]), label="alpha"),
        "eps": draw(st.sampled_from([1e-8, 1e-3]), label="eps"), "weight_decay": draw(DECAYS, label="weight_decay"),
        "momentum": draw(st.sampled_from([0.0, 0.9]), label="momentum"), "centered": draw(st.booleans(), label="centered"),
        "maximize": draw(st.booleans(), label="maximize"),
    }


@st.composite
def trajectories(draw, name: str):
    """Parameters (1-3 arrays of drawn shapes), K gradients for each, and the options."""
    shapes = draw(st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple), min_size=1, max_size=3), label="shapes")
    steps = draw(st.integers(1, 12), label="K")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    params = {f"p{i}": rng.standard_normal(shape) for i, shape in enumerate(shapes)}
    grads = [{key: rng.standard_normal(value.shape) for key, value in params.items()} for _ in range(steps)]
    return params, grads, OPTIMIZERS[name][1](draw)


def torch_state(optimizer: torch.optim.Optimizer, tensors: dict) -> dict:
    """``torch.optim``'s state per parameter name, as arrays (and ``step`` as an int)."""
    return {
        key: {name: int(value) if name == "step" else value.numpy() for name, value in optimizer.state[tensor].items() if value is not None}
        for key, tensor in tensors.items()
    }


@settings(max_examples=40, deadline=None, derandomize=True)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
@given(data=st.data())
def test_steps_follow_torch_optim_in_float64(name, data):
    params, grads, options = data.draw(trajectories(name))
    torch_class, _ = OPTIMIZERS[name]
    tensors = {key: torch.tensor(value, requires_grad=True) for key, value in params.items()}
    optimizer = torch_class(list(tensors.values()), foreach=False, **options)
    state = None
    for k, step_grads in enumerate(grads):
        for key, tensor in tensors.items():
            tensor.grad = torch.tensor(step_grads[key])
        optimizer.step()
        params, state = getattr(reference, name)(params, step_grads, state, **options)
        expected = torch_state(optimizer, tensors)
        for key, tensor in tensors.items():
            where = f"{name}({options}) step {k + 1}, {key}"
            torch.testing.assert_close(params[key], tensor.detach().numpy(), msg=lambda m, where=where: f"{where}: {m}")
            assert set(state[key]) == set(expected[key]), (where, sorted(state[key]), sorted(expected[key]))
            for entry, value in expected[key].items():
                if entry == "step":
                    assert state[key]["step"] == value, where
                else:
                    torch.testing.assert_close(state[key][entry], value, msg=lambda m, w=f"{where} state {entry}": f"{w}: {m}")


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_step_modifies_none_of_its_arguments(name):
    rng = np.random.default_rng(0)
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    grads = {key: rng.standard_normal(value.shape) for key, value in params.items()}
    options = {"lr": 0.1, "momentum": 0.9} if name in ("sgd_step", "rmsprop_step") else {"lr": 0.1}
    step = getattr(reference, name)
    _, state = step(params, grads, None, **options)
    copies = [{k: v.copy() for k, v in d.items()} for d in (params, grads)]
    state_copy = {k: {n: (v.copy() if isinstance(v, np.ndarray) else v) for n, v in entry.items()} for k, entry in state.items()}
    new_params, new_state = step(params, grads, state, **options)
    for original, copy in zip((params, grads), copies):
        assert all(np.array_equal(original[k], copy[k]) for k in copy)
    for key, entry in state_copy.items():
        assert all(np.array_equal(state[key][n], v) for n, v in entry.items())
    assert all(new_params[k] is not params[k] for k in params)


@pytest.mark.parametrize(
    ("name", "options", "error", "argument"),
    [
        ("sgd_step", {"lr": -0.1}, ValueError, "lr"),
        ("sgd_step", {"lr": 0.1, "nesterov": True}, ValueError, "nesterov"),
        ("sgd_step", {"lr": 0.1, "momentum": -1.0}, ValueError, "momentum"),
        ("adam_step", {"betas": (0.9, 1.0)}, ValueError, "betas"),
        ("adam_step", {"eps": -1e-8}, ValueError, "eps"),
        ("adamw_step", {"weight_decay": -0.1}, ValueError, "weight_decay"),
        ("rmsprop_step", {"alpha": -0.5}, ValueError, "alpha"),
        ("rmsprop_step", {"lr": "fast"}, TypeError, "lr"),
    ],
)
def test_bad_options_are_refused_naming_them(name, options, error, argument):
    params, grads = {"w": np.ones(2)}, {"w": np.ones(2)}
    with pytest.raises(error, match=f"{name}: argument '{argument}'"):
        getattr(reference, name)(params, grads, None, **options)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_mismatched_gradients_are_refused_naming_them(name):
    step = getattr(reference, name)
    extra = {"lr": 0.1} if name == "sgd_step" else {}
    with pytest.raises(ValueError, match=f"{name}: argument 'grads'"):
        step({"w": np.ones(2)}, {"v": np.ones(2)}, None, **extra)
    with pytest.raises(ValueError, match=rf"{name}: argument 'grads\['w'\]'"):
        step({"w": np.ones(2)}, {"w": np.ones(3)}, None, **extra)
