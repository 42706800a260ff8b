"""LSTM with its gates in CS231n's order i, f, o, g; PyTorch's (and the SPEC's) is
i, f, g, o. Consistent with itself, so only parity with PyTorch catches it."""

import numpy as np

from reference import *  # noqa: F403
from reference.rnn_cells import LSTMCell
from tests.known_bugs._recurrent_bugs import lstm_cell_forward_with, lstm_forward_with

BUG = {"layer": "lstm_cell", "checks": ["forward", "backward"]}


def _reorder(gates: np.ndarray) -> np.ndarray:
    """Swap the last two gate chunks: i, f, o, g <-> i, f, g, o (its own inverse)."""
    i, f, third, fourth = np.split(gates, 4, axis=1)
    return np.concatenate([i, f, fourth, third], axis=1)


class IFOGCell(LSTMCell):
    def step(self, input_proj, hidden_proj, h, c):
        return super().step(_reorder(input_proj), _reorder(hidden_proj), h, c)

    def step_backward(self, dh_next, dc_next, saved, weight_hh):
        grads = super().step_backward(dh_next, dc_next, saved, _reorder(weight_hh.T).T)
        return grads._replace(d_input_proj=_reorder(grads.d_input_proj), d_hidden_proj=_reorder(grads.d_hidden_proj))


lstm_cell_forward = lstm_cell_forward_with(IFOGCell())
lstm_forward = lstm_forward_with(IFOGCell())
