"""Helpers for the batch-norm known bugs: the reference with one step swapped."""

from __future__ import annotations

import numpy as np

import reference
from reference.seams import channel_axes


def batch_norm_updating_running_stats(update):
    """A batch_norm_forward whose running statistics are updated by
    ``update(running, batch, momentum)`` (mean) and with the biased or unbiased variance."""

    def batch_norm_forward(x, weight, bias, running_mean, running_var, training=True, momentum=0.1, eps=1e-5, *, unbiased=True):
        copies = [None if r is None else r.copy() for r in (running_mean, running_var)]
        out, cache = reference.batch_norm_forward(x, weight, bias, *copies, training, momentum, eps)
        if training and running_mean is not None:
            axes = channel_axes(x.ndim)
            count = x.size // x.shape[1]
            variance = x.var(axis=axes) * (count / (count - 1) if unbiased else 1)
            running_mean[...] = update(running_mean, x.mean(axis=axes), momentum)
            running_var[...] = update(running_var, variance, momentum)
        return out, cache

    return batch_norm_forward


def standard_update(running, batch, momentum):
    return (1 - momentum) * running + momentum * batch


def biased(forward):
    def batch_norm_forward(*args, **kwargs):
        return forward(*args, unbiased=False, **kwargs)

    return batch_norm_forward


def mean_and_variance(x: np.ndarray, axes, count: int):
    mean = x.sum(axis=axes, keepdims=True) / count
    centered = x - mean
    return mean, centered, np.square(centered).sum(axis=axes, keepdims=True) / count
