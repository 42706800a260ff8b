"""Optimizers as a learner writes them (a loop over the parameters, NumPy on each), with
one named mistake switched on per known bug. Each returns a step function with the SPEC's
signature (SPEC v2), keeping the state under torch.optim's names, so that the mistake,
and only it, is what the suite must find."""

from __future__ import annotations

import numpy as np


def _fresh(state, key: str) -> dict:
    return dict((state or {}).get(key, {}))


def sgd(*, dampen_first_step=False, nesterov_as_momentum=False, decay_after_momentum=False, maximize_after_decay=False):
    def sgd_step(params, grads, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
        new_params, new_state = {}, {}
        for key, param in params.items():
            entry, grad = _fresh(state, key), grads[key]
            if maximize and not maximize_after_decay:
                grad = -grad
            if weight_decay and not decay_after_momentum:
                grad = grad + weight_decay * param
            if maximize and maximize_after_decay:
                grad = -grad
            if momentum:
                if "momentum_buffer" in entry:
                    buf = momentum * entry["momentum_buffer"] + (1 - dampening) * grad
                else:
                    buf = (1 - dampening) * grad if dampen_first_step else grad.copy()
                entry["momentum_buffer"] = buf
                grad = grad + momentum * buf if nesterov and not nesterov_as_momentum else buf
            if weight_decay and decay_after_momentum:
                grad = grad + weight_decay * param
            new_params[key], new_state[key] = param - lr * grad, entry
        return new_params, new_state

    return sgd_step


def adam(*, eps_inside_sqrt=False, bias_correction=True, count_from_zero=False, decoupled=False, amsgrad_of_corrected=False, in_place=False):
    def step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False):
        beta1, beta2 = betas
        new_params, new_state = {}, {}
        for key, param in params.items():
            entry = (state or {}).get(key, {}) if in_place else _fresh(state, key)
            grad = -grads[key] if maximize else grads[key]
            if decoupled:
                param = param * (1 - lr * weight_decay)
            elif weight_decay:
                grad = grad + weight_decay * param
            t = entry.get("step", 0) + 1
            if "exp_avg" in entry and in_place:  # the moments updated inside the given state
                entry["exp_avg"] *= beta1
                entry["exp_avg"] += (1 - beta1) * grad
                entry["exp_avg_sq"] *= beta2
                entry["exp_avg_sq"] += (1 - beta2) * grad * grad
            else:
                entry["exp_avg"] = beta1 * entry.get("exp_avg", 0) + (1 - beta1) * grad
                entry["exp_avg_sq"] = beta2 * entry.get("exp_avg_sq", 0) + (1 - beta2) * grad * grad
            entry["step"] = t
            power = t - 1 if count_from_zero else t
            correction1, correction2 = (1 - beta1**power, 1 - beta2**power) if bias_correction else (1.0, 1.0)
            m_hat, v_hat = entry["exp_avg"] / correction1, entry["exp_avg_sq"] / correction2
            if amsgrad:
                if amsgrad_of_corrected:  # the maximum of the corrected v_hat, not of exp_avg_sq
                    v_hat = entry["max_exp_avg_sq"] = np.maximum(entry.get("max_exp_avg_sq", 0), v_hat)
                else:
                    entry["max_exp_avg_sq"] = np.maximum(entry.get("max_exp_avg_sq", 0), entry["exp_avg_sq"])
                    v_hat = entry["max_exp_avg_sq"] / correction2
            denominator = np.sqrt(v_hat + eps) if eps_inside_sqrt else np.sqrt(v_hat) + eps
            new_params[key], new_state[key] = param - lr * m_hat / denominator, entry
        return new_params, new_state

    return step


def adam_step_with(**mistake):
    step = adam(**mistake)

    def adam_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False):
        return step(params, grads, state, lr, betas, eps, weight_decay, amsgrad, maximize)

    return adam_step


def adamw_step_with(**mistake):
    step = adam(**{"decoupled": True, **mistake})

    def adamw_step(params, grads, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False):
        return step(params, grads, state, lr, betas, eps, weight_decay, amsgrad, maximize)

    return adamw_step


def rmsprop(*, centered_without_mean=False, eps_inside_sqrt=False):
    def rmsprop_step(params, grads, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
        new_params, new_state = {}, {}
        for key, param in params.items():
            entry = _fresh(state, key)
            grad = -grads[key] if maximize else grads[key]
            grad = grad + weight_decay * param
            entry["step"] = entry.get("step", 0) + 1
            entry["square_avg"] = alpha * entry.get("square_avg", 0) + (1 - alpha) * grad * grad
            variance = entry["square_avg"]
            if centered:
                entry["grad_avg"] = alpha * entry.get("grad_avg", 0) + (1 - alpha) * grad
                if not centered_without_mean:
                    variance = variance - entry["grad_avg"] ** 2
            denominator = np.sqrt(variance + eps) if eps_inside_sqrt else np.sqrt(variance) + eps
            if momentum > 0:
                entry["momentum_buffer"] = momentum * entry.get("momentum_buffer", 0) + grad / denominator
                param = param - lr * entry["momentum_buffer"]
            else:
                param = param - lr * grad / denominator
            new_params[key], new_state[key] = param, entry
        return new_params, new_state

    return rmsprop_step
