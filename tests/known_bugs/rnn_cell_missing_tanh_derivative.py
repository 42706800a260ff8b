"""rnn_cell_backward passing dh_next straight through tanh (its derivative 1 - h'^2 left out)."""

from reference import *  # noqa: F403
from reference.seams import RNNCell, cell_kind
from tests.known_bugs._recurrent_bugs import single_state_cell_forward_with

BUG = {"layer": "rnn_cell", "checks": ["backward", "gradcheck"]}


class NoTanhDerivative(RNNCell):
    def step_backward(self, dh_next, dc_next, saved, weight_hh):
        pre, _ = saved
        dpre = dh_next if self.nonlinearity == "tanh" else dh_next * (pre > 0)
        return super().step_backward(dh_next, dc_next, saved, weight_hh)._replace(d_input_proj=dpre, d_hidden_proj=dpre, dh=dpre @ weight_hh)


def rnn_cell_forward(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    cell_kind("rnn_cell_forward", "rnn", nonlinearity)  # the reference's argument check
    return single_state_cell_forward_with(NoTanhDerivative(nonlinearity), "rnn_cell")(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
