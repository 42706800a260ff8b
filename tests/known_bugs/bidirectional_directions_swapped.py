"""A bidirectional GRU whose output puts the reverse direction first on the feature axis;
PyTorch's (and the SPEC's) has the forward direction first."""

import numpy as np

import reference
from reference import *  # noqa: F403

BUG = {"layer": "gru", "checks": ["forward", "backward"]}


def _swap_halves(output, bidirectional):
    if output is None or not bidirectional:
        return output
    forward, reverse = np.split(output, 2, axis=-1)
    return np.concatenate([reverse, forward], axis=-1)


def gru_forward(x, h0, params, num_layers=1, bidirectional=False, lengths=None):
    output, h_n, cache = reference.gru_forward(x, h0, params, num_layers, bidirectional, lengths)
    return _swap_halves(output, bidirectional), h_n, cache


def gru_backward(doutput, dh_n, cache):
    return reference.gru_backward(_swap_halves(doutput, cache.num_directions == 2), dh_n, cache)
