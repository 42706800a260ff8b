"""LSTM with the forget and input gates swapped: c' = i * c + f * g."""

import numpy as np

from reference import *  # noqa: F403
from reference.rnn_cells import LSTMCell
from tests.known_bugs._recurrent_bugs import lstm_cell_forward_with, lstm_forward_with

BUG = {"layer": "lstm", "checks": ["forward", "backward"]}


def _swap_first_two(gates: np.ndarray) -> np.ndarray:
    first, second, *rest = np.split(gates, 4, axis=1)
    return np.concatenate([second, first, *rest], axis=1)


class SwappedCell(LSTMCell):
    def step(self, input_proj, hidden_proj, h, c):
        return super().step(_swap_first_two(input_proj), _swap_first_two(hidden_proj), h, c)

    def step_backward(self, dh_next, dc_next, saved, weight_hh):
        grads = super().step_backward(dh_next, dc_next, saved, _swap_first_two(weight_hh.T).T)
        return grads._replace(d_input_proj=_swap_first_two(grads.d_input_proj), d_hidden_proj=_swap_first_two(grads.d_hidden_proj))


lstm_cell_forward = lstm_cell_forward_with(SwappedCell())
lstm_forward = lstm_forward_with(SwappedCell())
