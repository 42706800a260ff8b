"""Assignment 2's ``optim.py``: ``sgd``, ``sgd_momentum``, ``rmsprop`` and ``adam``, each an
update rule ``(w, dw, config) -> (next_w, config)`` for one array, checked as
``torch.optim.SGD``, ``RMSprop`` and ``Adam`` on every array of a parameter dict.

The adapter calls the rule once per array, keeping each array's ``config`` between steps
as the course's ``Solver`` does, and gives the rule copies (the course's ``sgd`` updates
``w`` in place, and every rule fills ``config`` with ``setdefault``). The first config
holds the hyperparameters under the course's keys; Adam's also holds ``t = 0``, since the
2016-2017 starters defaulted ``t`` to 1 where torch (and the course's reference output,
since 2018) counts the first step as 1, incrementing ``t`` before using it.
"""

from __future__ import annotations

import copy
from types import ModuleType

from ...optimizers import BY_NAME, course_optimizer
from .. import OptimizerBinding
from ..adapting import learner_function, returned

OPTIM = "optim.py"
ADAM_NOTE = "adam: config starts as {learning_rate, beta1, beta2, epsilon, t: 0}; t is incremented before use (the first step is t = 1), as torch.optim.Adam"
MOMENTUM_NOTE = "sgd_momentum: v = momentum * v - learning_rate * dw, next_w = w + v is torch.optim.SGD(momentum) with v = -learning_rate * its buffer"


def first_config(function: str, options: dict) -> dict:
    """The rule's first config, from the API's options, under the course's keys."""
    lr, betas = options["lr"], options.get("betas", (0.9, 0.999))
    if function == "sgd_momentum":
        return {"learning_rate": lr, "momentum": options.get("momentum", 0.9)}
    if function == "rmsprop":
        return {"learning_rate": lr, "decay_rate": options.get("alpha", 0.99), "epsilon": options.get("eps", 1e-8)}
    if function == "adam":
        return {"learning_rate": lr, "beta1": betas[0], "beta2": betas[1], "epsilon": options.get("eps", 1e-8), "t": 0}
    return {"learning_rate": lr}


def _rule(function: str, option_names: tuple[str, ...]):
    def make(module: ModuleType):
        update = learner_function(module, function)

        def step(params, grads, state, *values):
            options = dict(zip(option_names, values))
            new_params, new_state = {}, {}
            for key, w in params.items():
                config = copy.deepcopy(state[key]) if state else first_config(function, options)
                result = update(w.copy(), grads[key].copy(), config)
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise AssertionError(f"{function} returned {type(result).__name__}, but should return (next_w, config)")
                next_w, config = result
                new_params[key] = returned(function, "next_w", next_w, shape=w.shape)
                if not isinstance(config, dict):
                    raise AssertionError(f"{function} returned config as a {type(config).__name__}, but should return the config dict")
                new_state[key] = config
            return new_params, new_state

        return step

    return make


def optimizer_bindings() -> tuple[OptimizerBinding, ...]:
    sgd, rmsprop, adam = BY_NAME["sgd"], BY_NAME["rmsprop"], BY_NAME["adam"]

    def binding(entry, function: str, options: tuple[str, ...], hint: str, conventions: tuple[str, ...] = (), **changes) -> OptimizerBinding:
        course = course_optimizer(entry, f"cs231n_{function}", options=options, hints={"params": hint}, **changes)
        return OptimizerBinding(course, function, _rule(function, options), conventions=conventions, group=OPTIM)

    return (
        binding(sgd, "sgd", ("lr",), "next_w = w - learning_rate * dw."),
        binding(
            sgd, "sgd_momentum", ("lr", "momentum"),
            "v = momentum * v - learning_rate * dw (v from config['velocity'], zeros at first), next_w = w + v; store v back in "
            "config['velocity'].",
            (MOMENTUM_NOTE,), fixed_options=({"lr": 0.1, "momentum": 0.9}, {"lr": 0.1, "momentum": 0.5}),
        ),
        binding(
            rmsprop, "rmsprop", ("lr", "alpha", "eps"),
            "cache = decay_rate * cache + (1 - decay_rate) * dw**2, next_w = w - learning_rate * dw / (sqrt(cache) + epsilon); "
            "store cache back in config['cache'].",
        ),
        binding(
            adam, "adam", ("lr", "betas", "eps"),
            "t += 1 first; m = beta1 * m + (1 - beta1) * dw, v = beta2 * v + (1 - beta2) * dw**2, mt = m / (1 - beta1**t), "
            "vt = v / (1 - beta2**t), next_w = w - learning_rate * mt / (sqrt(vt) + epsilon); store m, v and t in config.",
            (ADAM_NOTE,),
        ),
    )
