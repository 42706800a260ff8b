"""LSTM backpropagation through time that drops the cell-state gradient coming back from
the next step (only dh is carried; dc restarts at 0 each step)."""

import numpy as np

from reference import *  # noqa: F403
from reference.seams import LSTMCell
from tests.known_bugs._recurrent_bugs import lstm_cell_forward_with, lstm_forward_with

BUG = {"layer": "lstm", "checks": ["backward", "gradcheck"]}


class NoCellGradient(LSTMCell):
    def step_backward(self, dh_next, dc_next, saved, weight_hh):
        grads = super().step_backward(dh_next, dc_next, saved, weight_hh)
        return grads._replace(dc=np.zeros_like(grads.dc))


lstm_cell_forward = lstm_cell_forward_with(NoCellGradient())
lstm_forward = lstm_forward_with(NoCellGradient())
