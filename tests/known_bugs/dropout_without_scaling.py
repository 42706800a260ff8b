"""dropout keeping units without the 1 / (1 - p) scaling (\"vanilla\" dropout): training
outputs are too small by (1 - p)."""

import reference
from reference import *  # noqa: F403
from reference.seams import DropoutCache

BUG = {"layer": "dropout", "checks": ["forward", "backward"]}


def dropout_forward(x, p=0.5, training=True, mask=None):
    out, cache = reference.dropout_forward(x, p, training, mask)
    if cache.scaled_mask is None:
        return out, cache
    kept = (cache.scaled_mask != 0).astype(x.dtype)
    return x * kept, DropoutCache(kept)
