"""GRU with b_hn outside the reset product: n = tanh(W_in x + b_in + r * (W_hn h) + b_hn);
PyTorch's is r * (W_hn h + b_hn) (the original paper's variant differs the same way)."""

import numpy as np

from reference import *  # noqa: F403
from reference.seams import GRUCell
from tests.known_bugs._recurrent_bugs import single_state_cell_forward_with

BUG = {"layer": "gru_cell", "checks": ["forward", "backward"]}


class BhnOutside(GRUCell):
    def __init__(self, bias_hn) -> None:
        self.bias_hn = bias_hn

    def step(self, input_proj, hidden_proj, h, c):
        if self.bias_hn is None:  # without biases there is nothing to misplace
            return super().step(input_proj, hidden_proj, h, c)
        # Move b_hn from the hidden projection to the input one: outside r * (...).
        shift = np.concatenate([np.zeros_like(self.bias_hn)] * 2 + [self.bias_hn])
        return super().step(input_proj + shift, hidden_proj - shift, h, c)


def gru_cell_forward(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    bias_hn = None if bias_hh is None else np.split(bias_hh, 3)[2]
    return single_state_cell_forward_with(BhnOutside(bias_hn), "gru_cell")(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
