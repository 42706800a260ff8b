"""Course 2, week 2 ("Optimization methods"): gradient descent, momentum and Adam over the
course's ``parameters`` dict, checked as ``torch.optim.SGD`` and ``torch.optim.Adam``.

The course's dicts: ``parameters`` holds ``W1, b1, ..., WL, bL`` (``L = len(parameters) // 2``),
``grads`` and the moments ``v``, ``s`` hold ``dW1, db1, ...``. Its functions update the
dicts they are given (and return them), so the adapter hands them copies, and keeps ``v``,
``s`` and the Adam counter ``t`` between steps as the course's ``model()`` does (``t += 1``
before each call: the first call gets ``t = 1``).

Momentum is the course's moving average ``v = beta * v + (1 - beta) * dW``, ``W -= lr * v``.
Since ``v`` stays ``(1 - beta)`` times torch's buffer (``buf = beta * buf + dW``), it is
``torch.optim.SGD(momentum=beta)`` with the learning rate scaled by ``1 - beta``; not
``dampening=beta``, whose first buffer is ``dW`` undamped where the course's is
``(1 - beta) * dW``. The report says so.
"""

from __future__ import annotations

import copy
from types import ModuleType

import numpy as np

from ...optimizers import BY_NAME, course_optimizer
from .. import OptimizerBinding
from ..adapting import learner_function, returned

COURSE_2 = "course 2, week 2"
MOMENTUM_NOTE = (
    "update_parameters_with_momentum: the course's v = beta * v + (1 - beta) * dW is checked as torch.optim.SGD(momentum=beta, "
    "dampening=0) with learning_rate * (1 - beta) as its lr (v is (1 - beta) times torch's momentum buffer); torch's "
    "dampening=beta differs on the first step, whose buffer is dW undamped"
)
ADAM_NOTE = "update_parameters_with_adam: checked as torch.optim.Adam(lr=learning_rate, betas=(beta1, beta2), eps=epsilon), t counted from 1 as the course's model() does"


def network_params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``W1, b1, ..., WL, bL`` of a 1-3 layer network, W (n_l, n_{l-1}) and b (n_l, 1)."""
    sizes = rng.integers(1, 5, size=int(rng.integers(2, 5)))
    params = {}
    for layer in range(1, len(sizes)):
        params[f"W{layer}"] = rng.standard_normal((sizes[layer], sizes[layer - 1]))
        params[f"b{layer}"] = rng.standard_normal((sizes[layer], 1))
    return params


def course_names(params: dict) -> dict[str, str]:
    """The course's name of each parameter: itself when the dict is the course's (W1, b1,
    ...); else, in order, pairs W1, b1, W2, b2, ... (LeNet-5's weight and bias of each layer)."""
    keys = list(params)
    if all(key[:1] in "Wb" and key[1:].isdigit() for key in keys):
        return {key: key for key in keys}
    return {key: f"{'Wb'[i % 2]}{i // 2 + 1}" for i, key in enumerate(keys)}


def _course_dicts(function: str, params: dict, grads: dict) -> tuple[dict, dict, dict]:
    names = course_names(params)
    if len(names) % 2:
        raise ValueError(f"{function}: the course's parameters come in W, b pairs; got {len(names)} arrays")
    return names, {names[k]: v.copy() for k, v in params.items()}, {f"d{names[k]}": v for k, v in grads.items()}


def _back(function: str, result, names: dict, params: dict) -> dict:
    if not isinstance(result, dict):
        raise AssertionError(f"{function} returned parameters as a {type(result).__name__}, but should return the parameters dict")
    missing = [name for name in names.values() if name not in result]
    if missing:
        raise AssertionError(f"{function} returned parameters without {', '.join(missing)}")
    return {key: returned(function, f"parameters['{name}']", result[name], shape=params[key].shape) for key, name in names.items()}


def _gd(module: ModuleType):
    update = learner_function(module, "update_parameters_with_gd")

    def dls_gd_step(params, grads, state, lr):
        names, course, course_grads = _course_dicts("update_parameters_with_gd", params, grads)
        result = update(course, course_grads, lr)
        return _back("update_parameters_with_gd", result, names, params), {}

    return dls_gd_step


def _momentum(module: ModuleType):
    initialize, update = learner_function(module, "initialize_velocity"), learner_function(module, "update_parameters_with_momentum")

    def dls_momentum_step(params, grads, state, lr, momentum=0.0):
        names, course, course_grads = _course_dicts("update_parameters_with_momentum", params, grads)
        velocity = copy.deepcopy(state["v"]) if state else initialize(copy.deepcopy(course))
        # torch's lr is the course's learning_rate * (1 - beta): see MOMENTUM_NOTE.
        result = update(course, course_grads, velocity, momentum, lr / (1 - momentum))
        if not (isinstance(result, tuple) and len(result) == 2):
            raise AssertionError(f"update_parameters_with_momentum returned {type(result).__name__}, but should return (parameters, v)")
        return _back("update_parameters_with_momentum", result[0], names, params), {"v": result[1]}

    return dls_momentum_step


def _adam(module: ModuleType):
    initialize, update = learner_function(module, "initialize_adam"), learner_function(module, "update_parameters_with_adam")

    def dls_adam_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        names, course, course_grads = _course_dicts("update_parameters_with_adam", params, grads)
        if state:
            v, s, t = copy.deepcopy(state["v"]), copy.deepcopy(state["s"]), state["t"]
        else:
            moments = initialize(copy.deepcopy(course))
            if not (isinstance(moments, tuple) and len(moments) == 2):
                raise AssertionError(f"initialize_adam returned {type(moments).__name__}, but should return (v, s)")
            (v, s), t = moments, 0
        t += 1  # as the course's model(): the counter goes up before each call
        result = update(course, course_grads, v, s, t, lr, betas[0], betas[1], eps)
        # (parameters, v, s), or since 2021 (parameters, v, s, v_corrected, s_corrected)
        if not (isinstance(result, tuple) and len(result) in (3, 5)):
            raise AssertionError(f"update_parameters_with_adam returned {type(result).__name__}, but should return (parameters, v, s[, v_corrected, s_corrected])")
        return _back("update_parameters_with_adam", result[0], names, params), {"v": result[1], "s": result[2], "t": t}

    return dls_adam_step


GD_HINT = "W = W - learning_rate * dW for every layer l = 1 ... L (L = len(parameters) // 2), b likewise with db."
MOMENTUM_HINT = (
    "v['dW' + str(l)] = beta * v['dW' + str(l)] + (1 - beta) * grads['dW' + str(l)], then W = W - learning_rate * v['dW' + str(l)] "
    "(the velocity, not the gradient); b likewise; v starts at zeros (initialize_velocity)."
)
ADAM_HINT = (
    "v = beta1 * v + (1 - beta1) * dW, v_corrected = v / (1 - beta1**t); s = beta2 * s + (1 - beta2) * dW**2, s_corrected = "
    "s / (1 - beta2**t); W = W - learning_rate * v_corrected / (np.sqrt(s_corrected) + epsilon): epsilon outside the square root."
)


def optimizer_bindings() -> tuple[OptimizerBinding, ...]:
    sgd, adam = BY_NAME["sgd"], BY_NAME["adam"]
    return (
        OptimizerBinding(
            course_optimizer(sgd, "dls_gd", options=("lr",), course_params=network_params, hints={"params": GD_HINT}),
            "update_parameters_with_gd", _gd, group=COURSE_2,
        ),
        OptimizerBinding(
            course_optimizer(
                sgd, "dls_momentum", options=("lr", "momentum"), course_params=network_params, hints={"params": MOMENTUM_HINT},
                fixed_options=({"lr": 0.1, "momentum": 0.9}, {"lr": 0.05, "momentum": 0.5}),
            ),
            "update_parameters_with_momentum", _momentum, requires=("initialize_velocity", "update_parameters_with_momentum"),
            conventions=(MOMENTUM_NOTE,), group=COURSE_2,
        ),
        OptimizerBinding(
            course_optimizer(adam, "dls_adam", options=("lr", "betas", "eps"), course_params=network_params, hints={"params": ADAM_HINT}),
            "update_parameters_with_adam", _adam, requires=("initialize_adam", "update_parameters_with_adam"),
            conventions=(ADAM_NOTE,), group=COURSE_2,
        ),
    )

