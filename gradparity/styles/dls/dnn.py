"""Course 1, week 4 ("Building your Deep Neural Network: Step by Step"): features first,
``A`` of shape (n, m), ``W`` (n_l, n_{l-1}), ``b`` (n_l, 1).

``linear_forward`` and ``linear_activation_forward`` are the API's ``linear`` restricted to
the course's space, converted to and from the course's layout. The cost, the deep network
and ``update_parameters`` are entries of their own, in the course's layout."""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType

import numpy as np
import torch
from hypothesis import assume
from hypothesis import strategies as st

from ...op_entry import EdgeCase, OpEntry, Skip
from ...registry import BY_NAME
from ...sample import Sample
from ...strategies import SEEDS, edge_or_range, make_array, moved_off, value_kinds
from .. import Binding
from ..adapting import course_entry, key, learner_function, returned
from .common import COURSE_1, checked, compare_returned, course_call, own_layout_entry, unpack

# ------------------------------------------------------------------------- dense layers

LINEAR_LEFT_OUT = {
    "bias=None": "linear_forward always adds b, of shape (n_l, 1)",
    "x not 2-D": "A is (n_prev, m): features first, one example per column",
}
LINEAR_HINTS = {
    "out": "Z = np.dot(W, A) + b, with A (n_prev, m), W (n_l, n_prev), b (n_l, 1) broadcast over the m columns.",
    "dx": "dA_prev = np.dot(W.T, dZ): no 1/m here (only dW and db carry it).",
    "dweight": "dW = np.dot(dZ, A_prev.T) / m with m = A_prev.shape[1] (gradparity multiplies your dW by m before comparing "
    "with PyTorch's gradient of the layer).",
    "dbias": "db = np.sum(dZ, axis=1, keepdims=True) / m: summed over the batch (axis 1), then divided by m.",
}
ACTIVATION_HINTS = {
    "relu": "A = relu(Z) = np.maximum(0, Z); backward: dZ = relu_backward(dA, Z), dA where Z > 0 and 0 where Z <= 0, then linear_backward.",
    "sigmoid": "A = sigmoid(Z) = 1 / (1 + np.exp(-Z)); backward: dZ = dA * s * (1 - s) with s = sigmoid(Z), then linear_backward.",
}
DENSE = (
    "{names}: features first, A (n_prev, m), W (n_l, n_prev) and b (n_l, 1), transposed from and to PyTorch's x (m, n_prev) "
    "and bias (n_l,); {backward} folds the cost's 1/m into dW and db (dW = np.dot(dZ, A_prev.T) / m), so gradparity "
    "multiplies them by m before comparing with PyTorch's gradients of the layer (dA_prev carries no 1/m)"
)


def _linear(module: ModuleType):
    linear_forward, linear_backward = module.linear_forward, learner_function(module, "linear_backward")

    def forward(x, weight, bias):
        with course_call():
            Z, cache = unpack("linear_forward", linear_forward(x.T, weight, bias.reshape(-1, 1)), ("Z", "cache"))
        m = x.shape[0]
        return checked("linear_forward", "Z", Z, (weight.shape[0], m)).T, (cache, x.shape, weight.shape)

    def backward(dout, cache):
        course_cache, (m, n_prev), (n_l, _) = cache
        assert linear_backward is not None
        with course_call():
            dA_prev, dW, db = unpack("linear_backward", linear_backward(dout.T, course_cache), ("dA_prev", "dW", "db"))
        return _dense_grads("linear_backward", dA_prev, dW, db, m, n_prev, n_l)

    return forward, backward if linear_backward else None


def _dense_grads(function: str, dA_prev, dW, db, m: int, n_prev: int, n_l: int):
    """The course's (dA_prev, dW, db) in PyTorch's layout, dW and db times m (the course
    folds the cost's 1/m into them)."""
    __tracebackhide__ = True
    dA_prev = checked(function, "dA_prev", dA_prev, (n_prev, m))
    dW = checked(function, "dW", dW, (n_l, n_prev))
    db = checked(function, "db", db, (n_l, 1), hint="db sums dZ over the batch: np.sum(dZ, axis=1, keepdims=True) / m")
    return dA_prev.T, dW * m, db.reshape(n_l) * m


def _linear_activation(activation: str):
    def make(module: ModuleType):
        activation_forward, activation_backward = module.linear_activation_forward, learner_function(module, "linear_activation_backward")

        def forward(x, weight, bias):
            with course_call():
                result = activation_forward(x.T, weight, bias.reshape(-1, 1), activation)
            A, cache = unpack("linear_activation_forward", result, ("A", "cache"))
            return checked("linear_activation_forward", "A", A, (weight.shape[0], x.shape[0])).T, (cache, x.shape, weight.shape)

        def backward(dout, cache):
            course_cache, (m, n_prev), (n_l, _) = cache
            assert activation_backward is not None
            with course_call():
                result = activation_backward(dout.T, course_cache, activation)
            dA_prev, dW, db = unpack("linear_activation_backward", result, ("dA_prev", "dW", "db"))
            return _dense_grads("linear_activation_backward", dA_prev, dW, db, m, n_prev, n_l)

        return forward, backward if activation_backward else None

    return make


def _pre_activation_near_zero(sample: Sample) -> bool:
    x, weight, bias = (sample.arrays[name] for name in ("x", "weight", "bias"))
    return bool(np.any(np.abs(x @ weight.T + bias) <= 1e-3))


# Finite differences across relu's kink mean nothing; forward and backward draw it (and the
# edge case below puts pre-activations exactly on it).
RELU_KINK = Skip("gradcheck", "float64", _pre_activation_near_zero, "finite differences across relu's kink mean nothing")


def _relu_kink() -> Sample:
    """Pre-activations exactly 0 for the first example: relu_backward zeroes dZ there, as PyTorch."""
    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, (4, 3)).astype(np.float64)
    weight = rng.integers(-2, 3, (5, 3)).astype(np.float64)
    return Sample({"x": x, "weight": weight, "bias": -(weight @ x[0])}, {}, 0, "integers")


def _activation_entry(activation: str) -> OpEntry:
    twin = torch.relu if activation == "relu" else torch.sigmoid
    hints = {name: f"{ACTIVATION_HINTS[activation]} {hint}" for name, hint in LINEAR_HINTS.items()}
    entry = course_entry(
        BY_NAME["linear"],
        f"linear_{activation}",
        twin=lambda x, weight, bias: twin(torch.nn.functional.linear(x, weight, bias)),
        hints=hints,
        edge_cases=(EdgeCase("pre-activations exactly 0", _relu_kink),) if activation == "relu" else (),
    )
    return replace(entry, skips=(*entry.skips, RELU_KINK)) if activation == "relu" else entry


# ------------------------------------------------------------------------------ the cost

@st.composite
def _cost_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    m = draw(edge_or_range(1, 6), label="m")
    labels = draw(st.sampled_from(["mixed", "all 1", "all 0"]), label="labels")
    values = draw(st.sampled_from(["normal", "confident"]), label="values")
    seed = draw(SEEDS, label="seed")
    rng = np.random.default_rng(seed)
    Y = {"mixed": rng.random((1, m)) < 0.5, "all 1": np.ones((1, m)), "all 0": np.zeros((1, m))}[labels].astype(np.float64)
    # Probabilities inside (0, 1): 'confident' ones near 0 and 1, where the logs are large.
    scale = 2.0 if values == "normal" else 8.0
    AL = 1 / (1 + np.exp(-scale * rng.standard_normal((1, m))))
    return Sample({"AL": AL, "Y": Y}, {}, seed, values)


def _cost_twin(AL: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    return -(Y * torch.log(AL) + (1 - Y) * torch.log(1 - AL)).sum() / Y.shape[1]


COST_HINT = (
    "cost = -(1/m) * np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) with m = Y.shape[1] (the examples are columns), "
    "then np.squeeze(cost): the course asserts cost.shape == ()."
)


def _cost(module: ModuleType):
    compute_cost = module.compute_cost

    def forward(AL, Y):
        with course_call():
            cost = compute_cost(AL, Y)
        if isinstance(cost, np.ndarray) and cost.shape != () and cost.size == 1:
            raise AssertionError(f"compute_cost returned cost.shape={cost.shape}, but should be () (the course's layout)\n  hint: {COST_HINT}")
        return returned("compute_cost", "cost", cost, shape=(), hint=COST_HINT), None

    return forward, None


# ---------------------------------------------------------------------- the deep network

@st.composite
def _deep_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    """A relu...relu-sigmoid network of L weight layers, its last of one unit (AL is (1, m)),
    and labels Y (1, m). 'ties' values put pre-activations exactly at relu's kink."""
    small = for_gradcheck
    typical = draw(st.booleans(), label="typical shape")
    layers = draw(edge_or_range(1, 3 if small else 4), label="L")
    m = draw(edge_or_range(1, 3 if small else 5), label="m")
    dims = [draw(edge_or_range(1, 3 if small else 4), label=f"n_{index}") for index in range(layers)] + [1]
    if typical:
        m = moved_off(max(m, 2), *dims)
    seed = draw(SEEDS, label="seed")
    values = draw(st.just("normal") if for_gradcheck else st.sampled_from(["normal", "ties"]), label="values")
    rng = np.random.default_rng(seed)
    X = make_array(rng, (dims[0], m), values)
    parameters: dict[str, np.ndarray] = {}
    A, Z = X, X
    for layer in range(1, layers + 1):
        scale = np.sqrt(dims[layer - 1]) if values == "normal" else 1.0
        parameters[f"W{layer}"] = make_array(rng, (dims[layer], dims[layer - 1]), values) / scale
        parameters[f"b{layer}"] = make_array(rng, (dims[layer], 1), values)
        Z = parameters[f"W{layer}"] @ A + parameters[f"b{layer}"]
        if layer < layers:
            # Finite differences across relu's kink mean nothing. Said here, where the network's
            # pre-activations are at hand, rather than as a Skip that would run the network again.
            assume(not for_gradcheck or np.all(np.abs(Z) > 1e-3))
            A = np.maximum(Z, 0)
    assume(np.all(np.abs(Z) < 8))  # AL well inside (0, 1): the cost's logs and their gradients stay exact
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    return Sample({"X": X, "Y": Y, "parameters": parameters}, {}, seed, values)


def _deep_twin(X: torch.Tensor, Y: torch.Tensor, parameters: dict[str, torch.Tensor]):
    """(AL, cost): the network's output and compute_cost's cost of it."""
    layers = len(parameters) // 2
    A = X
    for layer in range(1, layers):
        A = torch.relu(parameters[f"W{layer}"] @ A + parameters[f"b{layer}"])
    AL = torch.sigmoid(parameters[f"W{layers}"] @ A + parameters[f"b{layers}"])
    return AL, _cost_twin(AL, Y)


def _deep_cost_twin(X: torch.Tensor, Y: torch.Tensor, parameters: dict[str, torch.Tensor]) -> torch.Tensor:
    return _deep_twin(X, Y, parameters)[1]


def _numpy_cost(AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):  # a wrong AL outside (0, 1) is the AL comparison's to report
        return np.asarray(-np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / Y.shape[1])


def _deep(entry: OpEntry):
    def make(module: ModuleType):
        model_forward, model_backward = module.L_model_forward, learner_function(module, "L_model_backward")

        def forward(X, Y, parameters):
            with course_call():
                AL, caches = unpack("L_model_forward", model_forward(X, parameters), ("AL", "caches"))
            AL = checked("L_model_forward", "AL", AL, (1, X.shape[1]), hint="the last layer has one unit: AL is (1, m)")
            cost = _numpy_cost(AL, Y)
            compare_returned(entry, _deep_twin, (X, Y, parameters), {"AL": AL, "cost": cost}, before=("AL",))
            shapes = {name: array.shape for name, array in parameters.items()}
            return cost, (AL, Y, caches, X.shape, shapes)

        def backward(dcost, cache):
            AL, Y, caches, (n_x, m), shapes = cache
            assert model_backward is not None
            with course_call():
                grads = model_backward(AL, Y, caches)
            layers = len(shapes) // 2
            # Since 2020 grads["dA0"] is the gradient of X; before, every dA key was one higher (dA1).
            old = isinstance(grads, dict) and "dA0" not in grads and f"dA{layers}" in grads
            name = "dA1" if old else "dA0"
            dX = checked("L_model_backward", f"grads['{name}']", key("L_model_backward", grads, name), (n_x, m))
            scale = float(dcost)
            dparameters = {}
            for name, shape in shapes.items():
                hint = "db sums dZ over the batch: np.sum(dZ, axis=1, keepdims=True) / m" if name.startswith("b") else ""
                grad = checked("L_model_backward", f"grads['d{name}']", key("L_model_backward", grads, f"d{name}"), shape, hint=hint)
                dparameters[name] = grad * scale
            return dX / m * scale, dparameters

        return forward, backward if model_backward else None

    return make


DEEP_HINTS = {
    "AL": "AL = sigmoid(W_L A_{L-1} + b_L) after L - 1 layers of relu(W_l A_{l-1} + b_l), L = len(parameters) // 2; "
    "caches holds one ((A_prev, W, b), Z) per layer.",
    "cost": "The cost is gradparity's, from your AL: a mismatch here follows one in AL.",
    "dX": "grads['dA0'] (dA1 before 2020) is W1.T dZ1 of the summed loss: gradparity divides it by m. Check dAL = "
    "-(Y / AL - (1 - Y) / (1 - AL)) and the order of the layers: caches[L - 1] is the sigmoid layer, caches[l] for l < L - 1 relu.",
    "dparameters": "grads['dW{l}'] and grads['db{l}'] come from linear_activation_backward with caches[l - 1] (the cost's 1/m "
    "folded in by linear_backward); walk the layers in reversed(range(L - 1)) and use each layer's own cache.",
}


# --------------------------------------------------------------------- update_parameters

UPDATE_LAYERS = 3  # update_parameters is checked on networks of 1 to 3 layers


@st.composite
def _update_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    layers = draw(edge_or_range(1, UPDATE_LAYERS), label="L")
    dims = [draw(edge_or_range(1, 4), label=f"n_{index}") for index in range(layers + 1)]
    learning_rate = draw(st.one_of(st.sampled_from([0.1, 0.0075, 1.2]), st.floats(1e-3, 2.0)), label="learning_rate")
    seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
    rng = np.random.default_rng(seed)
    parameters, grads = {}, {}
    for layer in range(1, layers + 1):
        parameters[f"W{layer}"] = make_array(rng, (dims[layer], dims[layer - 1]), values)
        parameters[f"b{layer}"] = make_array(rng, (dims[layer], 1), values)
    for layer in range(1, layers + 1):
        grads[f"dW{layer}"] = make_array(rng, (dims[layer], dims[layer - 1]), values)
        grads[f"db{layer}"] = make_array(rng, (dims[layer], 1), values)
    return Sample({"parameters": parameters, "grads": grads}, {"learning_rate": learning_rate}, seed, values)


UPDATE_OUTPUTS = tuple(f"{kind}{layer}" for layer in range(1, UPDATE_LAYERS + 1) for kind in ("W", "b"))


def _update_twin(parameters: dict[str, torch.Tensor], grads: dict[str, torch.Tensor], learning_rate: float):
    empty = torch.zeros(0, dtype=torch.float64)
    return tuple(parameters[name] - learning_rate * grads[f"d{name}"] if name in parameters else empty for name in UPDATE_OUTPUTS)


def _update(module: ModuleType):
    update_parameters = module.update_parameters

    def forward(parameters, grads, learning_rate):
        # A copy: the course's versions up to 2020 rebind the keys of the dict they are given.
        given = {name: array.copy() for name, array in parameters.items()}
        with course_call():
            updated = update_parameters(given, grads, learning_rate)
        if not isinstance(updated, dict):
            raise AssertionError(f"update_parameters returned a {type(updated).__name__}, but should return the parameters dict")
        outputs = tuple(
            checked("update_parameters", f"parameters['{name}']", key("update_parameters", updated, name), parameters[name].shape)
            if name in parameters else np.zeros(0)
            for name in UPDATE_OUTPUTS
        )
        return (*outputs, None)

    return forward, None


# ------------------------------------------------------------------------------ bindings

def bindings() -> tuple[Binding, ...]:
    """Course 1, week 4's functions, in the notebook's order."""
    found: list[Binding] = [
        Binding(
            course_entry(BY_NAME["linear"], "linear", hints=LINEAR_HINTS), "linear_forward", "linear_backward", _linear,
            left_out=LINEAR_LEFT_OUT, conventions=(DENSE.format(names="linear_forward/linear_backward", backward="linear_backward"),),
            group=COURSE_1,
        ),
    ]
    for activation in ("relu", "sigmoid"):
        note = (
            "relu_backward zeroes dZ where Z <= 0, as PyTorch's gradient of relu at 0" if activation == "relu"
            else "sigmoid_backward recomputes s = sigmoid(Z) from the cached Z"
        )
        found.append(
            Binding(
                _activation_entry(activation),
                f"linear_activation_forward ({activation})",
                f"linear_activation_backward ({activation})",
                _linear_activation(activation),
                left_out={
                    "bias=None": f"linear_activation_forward(..., '{activation}') always adds b, of shape (n_l, 1)",
                    "x not 2-D": LINEAR_LEFT_OUT["x not 2-D"],
                },
                conventions=(
                    f"linear_activation_forward/backward ({activation}, passed as the activation string): the layout of linear_forward, and "
                    f"dW and db times m as for linear_backward; {note}",
                ),
                requires=("linear_activation_forward",),  # the rows name a variant; the learner's function is one
                group=COURSE_1,
            )
        )
    deep = own_layout_entry(
        title="L_model_forward / L_model_backward",
        name="L_model", array_args=("X", "Y", "parameters"), grad_args=("X", "parameters"), outputs=("cost",), twin=_deep_cost_twin,
        samples=_deep_samples, hints=DEEP_HINTS,
    )
    found += [
        Binding(
            own_layout_entry(
                title="compute_cost",
                name="compute_cost", array_args=("AL", "Y"), grad_args=(), outputs=("cost",), twin=_cost_twin, samples=_cost_samples,
                has_backward=False, hints={"cost": COST_HINT},
            ),
            "compute_cost", None, _cost,
            conventions=("compute_cost: the mean cross-entropy of AL (1, m) against labels Y (1, m) in {0, 1}, returned as a 0-d array (np.squeeze), as the course asserts",),
            converts_layout=False,
            group=COURSE_1,
        ),
        Binding(
            deep, "L_model_forward", "L_model_backward", _deep(deep), converts_layout=False,
            conventions=(
                "L_model_forward/L_model_backward: a network of L layers, relu for layers 1 to L - 1 and sigmoid for layer L (one unit: AL "
                "is (1, m)), from the parameters dict W1, b1, ..., WL, bL; AL is compared with PyTorch's, and L_model_backward's grads as "
                "the gradients of compute_cost's cost of AL (the mean over the m examples), with autograd: dW{l} and db{l} as they are, "
                "while grads['dA0'] is the gradient of the summed loss (dAL carries no 1/m), so gradparity divides it by m; the dA keys of "
                "versions before 2020, one higher (dA1 for X, ..., dAL), are accepted too",
            ),
            group=COURSE_1,
        ),
        Binding(
            own_layout_entry(
                title="update_parameters",
                name="update_parameters", array_args=("parameters", "grads"), signature=("parameters", "grads", "learning_rate"),
                outputs=UPDATE_OUTPUTS, twin=_update_twin, samples=_update_samples, has_backward=False,
                hints=dict.fromkeys(UPDATE_OUTPUTS, "parameters['W' + str(l)] = parameters['W' + str(l)] - learning_rate * grads['dW' + str(l)] "
                                    "for l in 1..L, L = len(parameters) // 2 (every layer, the last included), and the same for b."),
            ),
            "update_parameters", None, _update,
            conventions=(
                "update_parameters: W{l} - learning_rate * dW{l} and b{l} - learning_rate * db{l} for every layer; it may rebind the keys of "
                "the dict it is given (the course's versions up to 2020) or work on a copy (2021+): gradparity passes it a copy of the "
                "parameters, so the purity column does not judge it on the parameters dict; networks of 1 to 3 layers "
                "(the table's W3 and b3 are empty for smaller ones)",
            ),
            converts_layout=False,
            group=COURSE_1,
        ),
    ]
    return tuple(found)
