"""dropout keeping units without the 1 / (1 - p) scaling (\"vanilla\" dropout): training
outputs are too small by (1 - p)."""

from reference import *  # noqa: F403
from reference import dense

BUG = {"layer": "dropout", "checks": ["forward", "backward"]}


def dropout_forward(x, p=0.5, training=True, mask=None):
    out, cache = dense.dropout_forward(x, p, training, mask)
    if cache.scaled_mask is None:
        return out, cache
    kept = (cache.scaled_mask != 0).astype(x.dtype)
    return x * kept, dense.DropoutCache(kept)
