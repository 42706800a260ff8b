"""cross_entropy's 'mean' divided by N, counting the rows whose target is ignore_index."""

from typing import NamedTuple

import numpy as np

import reference
from reference import *  # noqa: F403
from reference.seams import CrossEntropyCache

BUG = {"layer": "cross_entropy", "checks": ["forward", "backward"]}


class MeanOverAllRows(NamedTuple):
    summed: CrossEntropyCache
    rows: int


def cross_entropy_forward(logits, target, reduction="mean", ignore_index=-100):
    if reduction != "mean":
        return reference.cross_entropy_forward(logits, target, reduction, ignore_index)
    total, cache = reference.cross_entropy_forward(logits, target, "sum", ignore_index)
    return total / logits.shape[0], MeanOverAllRows(cache, logits.shape[0])


def cross_entropy_backward(dloss, cache):
    if isinstance(cache, MeanOverAllRows):
        return reference.cross_entropy_backward(np.asarray(dloss) / cache.rows, cache.summed)
    return reference.cross_entropy_backward(dloss, cache)
