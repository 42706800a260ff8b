"""lstm_cell adding one bias, the first gate's, to all four gates instead of a bias per
gate (b_ih[:H] + b_hh[:H] broadcast over i, f, g, o)."""

import numpy as np

import reference
from reference import *  # noqa: F403

BUG = {"layer": "lstm_cell", "checks": ["forward", "backward"]}


def _first_gate_everywhere(bias):
    return None if bias is None else np.tile(np.split(bias, 4)[0], 4)


def lstm_cell_forward(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    return reference.lstm_cell_forward(x, h, c, weight_ih, weight_hh, _first_gate_everywhere(bias_ih), _first_gate_everywhere(bias_hh))
