"""LSTM with the forget and input gates swapped: c' = i * c + f * g."""

import numpy as np

from reference import *  # noqa: F403
from reference.seams import LSTMCell
from tests.known_bugs._recurrent_bugs import gates_permuted, lstm_cell_forward_with, lstm_forward_with

BUG = {"layer": "lstm", "checks": ["forward", "backward"]}


def _swap_first_two(gates: np.ndarray) -> np.ndarray:
    first, second, *rest = np.split(gates, 4, axis=1)
    return np.concatenate([second, first, *rest], axis=1)


lstm_cell_forward = lstm_cell_forward_with(gates_permuted(LSTMCell, _swap_first_two))
lstm_forward = lstm_forward_with(gates_permuted(LSTMCell, _swap_first_two))
