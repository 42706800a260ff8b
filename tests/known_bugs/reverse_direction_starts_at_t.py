"""A bidirectional RNN whose reverse direction starts at step T - 1 for every sequence
(reading the padding first) instead of at each sequence's own last step."""

import numpy as np

import reference
from reference import *  # noqa: F403
from reference.seams import run_direction, run_direction_swapped

BUG = {"layer": "rnn", "checks": ["forward", "backward"]}


def _reverse_ignores_lengths(kind, inputs, h, c, weights, valid, reverse):
    if not reverse:
        return run_direction(kind, inputs, h, c, weights, valid, reverse)
    outputs, h, c, cache = run_direction(kind, inputs, h, c, weights, np.ones_like(valid), reverse)
    return outputs * valid, h, c, cache  # padded outputs still zeroed


def rnn_forward(x, h0, params, num_layers=1, nonlinearity="tanh", bidirectional=False, lengths=None):
    with run_direction_swapped(_reverse_ignores_lengths):
        return reference.rnn_forward(x, h0, params, num_layers, nonlinearity, bidirectional, lengths)
