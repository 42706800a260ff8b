"""A bidirectional RNN whose reverse direction starts at step T - 1 for every sequence
(reading the padding first) instead of at each sequence's own last step."""

from unittest import mock

import numpy as np

from reference import *  # noqa: F403
from reference import rnn

BUG = {"layer": "rnn", "checks": ["forward", "backward"]}
_run_direction = rnn._run_direction


def _reverse_ignores_lengths(kind, inputs, h, c, weights, valid, reverse):
    if not reverse:
        return _run_direction(kind, inputs, h, c, weights, valid, reverse)
    outputs, h, c, cache = _run_direction(kind, inputs, h, c, weights, np.ones_like(valid), reverse)
    return outputs * valid, h, c, cache  # padded outputs still zeroed


def rnn_forward(x, h0, params, num_layers=1, nonlinearity="tanh", bidirectional=False, lengths=None):
    with mock.patch.object(rnn, "_run_direction", _reverse_ignores_lengths):
        return rnn.rnn_forward(x, h0, params, num_layers, nonlinearity, bidirectional, lengths)
