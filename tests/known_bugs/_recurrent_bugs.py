"""Helpers for the recurrent known bugs: the reference layers run with another cell."""

from __future__ import annotations

from reference import seams


def lstm_cell_forward_with(kind):
    def lstm_cell_forward(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
        result, cache = seams.cell_forward("lstm_cell_forward", kind, x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
        return result.h, result.c, cache

    return lstm_cell_forward


def single_state_cell_forward_with(kind, name: str):
    """``rnn_cell_forward``/``gru_cell_forward`` (the RNN's nonlinearity comes from ``kind``)."""

    def cell_forward(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
        result, cache = seams.cell_forward(f"{name}_forward", kind, x, h, None, weight_ih, weight_hh, bias_ih, bias_hh)
        return result.h, cache

    return cell_forward


def lstm_forward_with(kind):
    def lstm_forward(x, h0, c0, params, num_layers=1, bidirectional=False, lengths=None):
        return seams.sequence_forward("lstm_forward", kind, x, h0, c0, params, num_layers, bidirectional, lengths)

    return lstm_forward


def rnn_forward_with(make_kind):
    """``make_kind(nonlinearity)`` -> the cell to run."""

    def rnn_forward(x, h0, params, num_layers=1, nonlinearity="tanh", bidirectional=False, lengths=None):
        seams.cell_kind("rnn_forward", "rnn", nonlinearity)  # the reference's argument check
        output, h_n, _, cache = seams.sequence_forward(
            "rnn_forward", make_kind(nonlinearity), x, h0, None, params, num_layers, bidirectional, lengths
        )
        return output, h_n, cache

    return rnn_forward


def gates_permuted(cell_type, permute):
    """A cell whose learner lays the gate rows out differently: ``permute`` maps the
    learner's gate chunks to the reference's and must be its own inverse."""

    class Permuted(cell_type):
        def step(self, input_proj, hidden_proj, h, c):
            return super().step(permute(input_proj), permute(hidden_proj), h, c)

        def step_backward(self, dh_next, dc_next, saved, weight_hh):
            grads = super().step_backward(dh_next, dc_next, saved, permute(weight_hh.T).T)
            return grads._replace(d_input_proj=permute(grads.d_input_proj), d_hidden_proj=permute(grads.d_hidden_proj))

    return Permuted()
