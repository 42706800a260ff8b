"""group_norm normalising by sqrt(var) + eps instead of sqrt(var + eps)."""

import numpy as np

import reference
from reference import *  # noqa: F403
from reference.seams import standardise_swapped
from tests.known_bugs._batch_norm_bugs import mean_and_variance

BUG = {"layer": "group_norm", "checks": ["forward", "backward"]}


def _eps_outside(x, axes, count, eps):
    mean, centered, var = mean_and_variance(x, axes, count)
    inv_std = 1.0 / (np.sqrt(var) + eps)
    return centered * inv_std, inv_std, mean, var


def group_norm_forward(*args, **kwargs):
    with standardise_swapped(_eps_outside):
        return reference.group_norm_forward(*args, **kwargs)
