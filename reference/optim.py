"""Optimizers as functions: one step of SGD, Adam, AdamW or RMSprop over a dict of
parameters (SPEC v2).

Each step takes ``params`` and ``grads`` (dicts of arrays with the same keys) and the
``state`` the previous step returned (None, or ``{}``, before the first), and returns
``(new_params, new_state)``; it modifies none of its arguments. The arithmetic is
``torch.optim``'s single-tensor algorithm (``foreach=False``), option for option and in
the same order, so that the trajectories agree to float64 rounding; the state holds, per
parameter, what ``torch.optim`` keeps under the same names (``step`` as an int).

The update of one parameter is written for that one array (the loop is over the dict's
keys, the parameters, not over their elements).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._validation import float_array, invalid

__all__ = ["adam_step", "adamw_step", "rmsprop_step", "sgd_step"]


# ------------------------------------------------------------------------- checks


def _number(function: str, name: str, value, *, minimum: float = 0.0, below: float | None = None) -> float:
    """A real number ``minimum <= value (< below)``, as ``torch.optim`` checks its options."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{function}: argument '{name}' must be a number; got {type(value).__name__}")
    number = float(value)
    if not (number >= minimum and (below is None or number < below)):
        bound = f"in [{minimum}, {below})" if below is not None else f">= {minimum}"
        raise invalid(function, name, f"must be {bound}; got {value}")
    return number


def _betas(function: str, value) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{function}: argument 'betas' must be a pair of numbers; got {value!r}")
    return _number(function, "betas", value[0], below=1.0), _number(function, "betas", value[1], below=1.0)


def _checked(function: str, params, grads, state) -> dict:
    """Check that ``params`` and ``grads`` are dicts of float arrays with the same keys and
    shapes, and return the per-parameter state (empty dicts before the first step)."""
    for name, value in (("params", params), ("grads", grads)):
        if not isinstance(value, dict):
            raise TypeError(f"{function}: argument '{name}' must be a dict of arrays; got {type(value).__name__}")
    if set(params) != set(grads):
        raise invalid(function, "grads", f"must have the keys of params {sorted(params)}; got {sorted(grads)}")
    for key in params:
        parameter = float_array(function, f"params['{key}']", params[key])
        gradient = float_array(function, f"grads['{key}']", grads[key])
        if gradient.shape != parameter.shape or gradient.dtype != parameter.dtype:
            raise invalid(function, f"grads['{key}']", f"must match its parameter ({parameter.shape}, {parameter.dtype}); got ({gradient.shape}, {gradient.dtype})")
    if state is None:
        state = {}
    if not isinstance(state, dict) or any(key not in params for key in state):
        raise invalid(function, "state", f"must be None or the state a previous step returned, keyed by {sorted(params)}")
    return {key: state.get(key, {}) for key in params}


def _result(new_params: dict, new_state: dict) -> tuple[dict, dict]:
    """The step's result with every value an array (NumPy turns 0-d results into scalars)."""
    arrays = {key: np.asarray(value) for key, value in new_params.items()}
    states = {key: {name: value if name == "step" else np.asarray(value) for name, value in entry.items()} for key, entry in new_state.items()}
    return arrays, states


def _gradient(grad: np.ndarray, param: np.ndarray, weight_decay: float, maximize: bool) -> np.ndarray:
    """The gradient the update follows: negated to maximize, plus L2 weight decay (as in
    torch.optim, the decay is added after the negation)."""
    grad = -grad if maximize else grad
    return grad + weight_decay * param if weight_decay != 0 else grad


# --------------------------------------------------------------------------- SGD


def sgd_step(params, grads, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    """One step of ``torch.optim.SGD``: ``buf = momentum * buf + (1 - dampening) * g`` (the
    first step's buffer is ``g`` itself, undamped), then ``p -= lr * buf``, or with
    Nesterov ``p -= lr * (g + momentum * buf)``."""
    function = "sgd_step"
    per_key = _checked(function, params, grads, state)
    lr, momentum = _number(function, "lr", lr), _number(function, "momentum", momentum)
    dampening, weight_decay = _number(function, "dampening", dampening, minimum=-np.inf), _number(function, "weight_decay", weight_decay)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise invalid(function, "nesterov", "requires momentum > 0 and dampening = 0")
    new_params, new_state = {}, {}
    for key, param in params.items():
        step = _gradient(grads[key], param, weight_decay, maximize)
        entry = {}
        if momentum != 0:
            previous = per_key[key].get("momentum_buffer")
            buffer = step.copy() if previous is None else momentum * previous + (1 - dampening) * step
            entry["momentum_buffer"] = buffer
            step = step + momentum * buffer if nesterov else buffer
        new_params[key] = param - lr * step
        new_state[key] = entry
    return _result(new_params, new_state)


# ----------------------------------------------------------------------- Adam(W)


def _adam(function, params, grads, state, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled):
    per_key = _checked(function, params, grads, state)
    lr, eps, weight_decay = _number(function, "lr", lr), _number(function, "eps", eps), _number(function, "weight_decay", weight_decay)
    beta1, beta2 = _betas(function, betas)
    new_params, new_state = {}, {}
    for key, param in params.items():
        previous = per_key[key]
        step = previous.get("step", 0) + 1
        if decoupled:  # AdamW: the decay shrinks the parameter itself, not through the gradient
            grad = -grads[key] if maximize else grads[key]
            param = param * (1 - lr * weight_decay)
        else:
            grad = _gradient(grads[key], param, weight_decay, maximize)
        zeros = np.zeros_like(param)
        # The moments, as torch's lerp: m + (1 - beta) * (g - m).
        exp_avg = previous.get("exp_avg", zeros)
        exp_avg = exp_avg + (1 - beta1) * (grad - exp_avg)
        exp_avg_sq = beta2 * previous.get("exp_avg_sq", zeros) + (1 - beta2) * grad * grad
        entry = {"step": step, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
        second = exp_avg_sq
        if amsgrad:  # the largest second moment so far, so the step size never grows back
            second = entry["max_exp_avg_sq"] = np.maximum(previous.get("max_exp_avg_sq", zeros), exp_avg_sq)
        # Bias correction from step 1: the moments start at zero and under-estimate early.
        bias_correction1, bias_correction2 = 1 - beta1**step, 1 - beta2**step
        # math.sqrt: a NumPy float64 scalar would promote a float32 parameter to float64.
        denom = np.sqrt(second) / math.sqrt(bias_correction2) + eps  # eps outside the square root
        new_params[key] = param - (lr / bias_correction1) * (exp_avg / denom)
        new_state[key] = entry
    return _result(new_params, new_state)


def adam_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False):
    """One step of ``torch.optim.Adam`` (L2 weight decay added to the gradient)."""
    return _adam("adam_step", params, grads, state, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled=False)


def adamw_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False):
    """One step of ``torch.optim.AdamW``: ``p *= 1 - lr * weight_decay``, then Adam's step."""
    return _adam("adamw_step", params, grads, state, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled=True)


# ------------------------------------------------------------------------ RMSprop


def rmsprop_step(params, grads, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    """One step of ``torch.optim.RMSprop``: ``v = alpha * v + (1 - alpha) * g**2``; centered,
    the mean's square is subtracted (``v - mean(g)**2``); then ``p -= lr * g / (sqrt(.) + eps)``,
    through a momentum buffer when ``momentum > 0``."""
    function = "rmsprop_step"
    per_key = _checked(function, params, grads, state)
    lr, alpha, eps = _number(function, "lr", lr), _number(function, "alpha", alpha), _number(function, "eps", eps)
    weight_decay, momentum = _number(function, "weight_decay", weight_decay), _number(function, "momentum", momentum)
    new_params, new_state = {}, {}
    for key, param in params.items():
        previous = per_key[key]
        grad = _gradient(grads[key], param, weight_decay, maximize)
        zeros = np.zeros_like(param)
        square_avg = alpha * previous.get("square_avg", zeros) + (1 - alpha) * grad * grad
        entry = {"step": previous.get("step", 0) + 1, "square_avg": square_avg}
        if centered:
            grad_avg = previous.get("grad_avg", zeros)
            grad_avg = entry["grad_avg"] = grad_avg + (1 - alpha) * (grad - grad_avg)
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
        else:
            avg = np.sqrt(square_avg) + eps
        if momentum > 0:
            buffer = entry["momentum_buffer"] = momentum * previous.get("momentum_buffer", zeros) + grad / avg
            new_params[key] = param - lr * buffer
        else:
            new_params[key] = param - lr * (grad / avg)
        new_state[key] = entry
    return _result(new_params, new_state)
