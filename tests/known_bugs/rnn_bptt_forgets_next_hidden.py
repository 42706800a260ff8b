"""RNN backpropagation through time that forgets the gradient arriving from the next
step's hidden state: each step sees only its own output's gradient."""

import numpy as np

from reference import *  # noqa: F403
from reference.seams import RNNCell
from tests.known_bugs._recurrent_bugs import rnn_forward_with

BUG = {"layer": "rnn", "checks": ["backward", "gradcheck"]}


class NoRecurrentGradient(RNNCell):
    def step_backward(self, dh_next, dc_next, saved, weight_hh):
        grads = super().step_backward(dh_next, dc_next, saved, weight_hh)
        return grads._replace(dh=np.zeros_like(grads.dh))


rnn_forward = rnn_forward_with(NoRecurrentGradient)
