"""LSTM final states taken after step T for every sequence (running on through the
padding), instead of at each sequence's own last step."""

import reference
from reference import *  # noqa: F403

BUG = {"layer": "lstm", "checks": ["forward"]}


def lstm_forward(x, h0, c0, params, num_layers=1, bidirectional=False, lengths=None):
    output, _, _, cache = reference.lstm_forward(x, h0, c0, params, num_layers, bidirectional, lengths)
    _, h_n, c_n, _ = reference.lstm_forward(x, h0, c0, params, num_layers, bidirectional, None)
    return output, h_n, c_n, cache
