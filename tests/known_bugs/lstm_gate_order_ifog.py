"""LSTM with its gates in CS231n's order i, f, o, g; PyTorch's (and the SPEC's) is
i, f, g, o. Consistent with itself, so only parity with PyTorch catches it."""

import numpy as np

from reference import *  # noqa: F403
from reference.seams import LSTMCell
from tests.known_bugs._recurrent_bugs import gates_permuted, lstm_cell_forward_with, lstm_forward_with

BUG = {"layer": "lstm_cell", "checks": ["forward", "backward"]}


def _swap_last_two(gates: np.ndarray) -> np.ndarray:
    """i, f, o, g <-> i, f, g, o."""
    i, f, third, fourth = np.split(gates, 4, axis=1)
    return np.concatenate([i, f, fourth, third], axis=1)


lstm_cell_forward = lstm_cell_forward_with(gates_permuted(LSTMCell, _swap_last_two))
lstm_forward = lstm_forward_with(gates_permuted(LSTMCell, _swap_last_two))
