"""batch_norm normalising by sqrt(var) + eps instead of sqrt(var + eps)."""

import numpy as np

from reference import *  # noqa: F403
from reference import norm
from tests.known_bugs._batch_norm_bugs import mean_and_variance, standardised_with

BUG = {"layer": "batch_norm", "checks": ["forward", "backward"]}


def _eps_outside(x, axes, count, eps):
    mean, centered, var = mean_and_variance(x, axes, count)
    inv_std = 1.0 / (np.sqrt(var) + eps)
    return centered * inv_std, inv_std, mean, var


def batch_norm_forward(*args, **kwargs):
    with standardised_with(_eps_outside):
        return norm.batch_norm_forward(*args, **kwargs)
