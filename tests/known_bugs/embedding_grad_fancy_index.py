"""embedding_backward as ``dweight[indices] += dout``: with repeated indices NumPy's
buffered fancy indexing keeps only one contribution per row (np.add.at adds them all)."""

import numpy as np

from reference import *  # noqa: F403

BUG = {"layer": "embedding", "checks": ["backward", "gradcheck"]}


def embedding_backward(dout, cache):
    dweight = np.zeros((cache.num_embeddings, dout.shape[-1]), dtype=cache.dtype)
    dweight[cache.indices.reshape(-1)] += dout.reshape(-1, dout.shape[-1])
    if cache.padding_idx is not None:
        dweight[cache.padding_idx] = 0
    return dweight
