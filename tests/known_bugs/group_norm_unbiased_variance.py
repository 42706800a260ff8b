"""group_norm normalising with the unbiased variance of each group (divide by n - 1, as
np.var(ddof=1) or torch.var's default); F.group_norm uses the biased one."""

import numpy as np

import reference
from reference import *  # noqa: F403
from reference.seams import standardise_swapped
from tests.known_bugs._batch_norm_bugs import mean_and_variance

BUG = {"layer": "group_norm", "checks": ["forward", "backward"]}


def _unbiased(x, axes, count, eps):
    mean, centered, var = mean_and_variance(x, axes, count)
    var = var * count / (count - 1)
    inv_std = 1.0 / np.sqrt(var + eps)
    return centered * inv_std, inv_std, mean, var


def group_norm_forward(*args, **kwargs):
    with standardise_swapped(_unbiased):
        return reference.group_norm_forward(*args, **kwargs)
