"""The three recurrent cells (RNN, LSTM, GRU): one time step, forward and backward.

Each cell is written once as a *step* on projections: the input projection
``x @ weight_ih.T + bias_ih`` and the hidden projection ``h @ weight_hh.T + bias_hh`` (all
gates at once: one matmul for the four LSTM gates). The sequence layers (``rnn.py``)
project the whole input sequence in one matmul and call the step once per time step; the
public cell functions below call it once. A step's backward returns the gradients of the
two projections, from which every parameter gradient follows by one matmul.

Gate layouts are PyTorch's: LSTM ``i, f, g, o``; GRU ``r, z, n`` with ``b_hn`` inside the
reset product, ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) n + z h``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from . import _validation as check


def gate_sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``0.5 * (1 + tanh(x / 2))``: the logistic function with one transcendental and no
    overflow, several times faster than the ``exp`` form on float32 here. Its error is
    within an ulp of 1 (not of the value itself when that is tiny): what a gate needs.
    ``out`` may be ``x`` itself (in place)."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


class StepResult(NamedTuple):
    h: np.ndarray
    c: np.ndarray | None  # the LSTM's cell state; None for RNN and GRU
    saved: Any  # what the step's backward needs


class StepGrads(NamedTuple):
    d_input_proj: np.ndarray  # gradient of x @ W_ih.T + b_ih, (N, gates * H)
    d_hidden_proj: np.ndarray  # gradient of h @ W_hh.T + b_hh, (N, gates * H)
    dh: np.ndarray  # gradient of the previous hidden state through W_hh (and GRU's z * h)
    dc: np.ndarray | None


class CellKind:
    """One recurrent cell: its number of gates and its step, forward and backward."""

    name: str
    gates: int

    def step(self, input_proj: np.ndarray, hidden_proj: np.ndarray, h: np.ndarray, c: np.ndarray | None) -> StepResult:
        """One step from the two projections.

        ``input_proj`` is the step's own: every caller passes an array (or a slice of one)
        that it never reads again, so a step may work in it in place; the cells compute
        their gates there instead of allocating new arrays, and keep them for the backward.
        ``hidden_proj`` is only lent: the sequence layers reuse it for the next step, so a
        step copies what it keeps of it."""
        raise NotImplementedError

    def step_backward(self, dh_next: np.ndarray, dc_next: np.ndarray | None, saved, weight_hh: np.ndarray) -> StepGrads:
        raise NotImplementedError


class RNNCell(CellKind):
    gates = 1

    def __init__(self, nonlinearity: str) -> None:
        self.name, self.nonlinearity = "rnn", nonlinearity

    def step(self, input_proj, hidden_proj, h, c):
        pre = np.add(input_proj, hidden_proj, out=input_proj)
        h_next = np.tanh(pre) if self.nonlinearity == "tanh" else np.maximum(pre, 0)
        return StepResult(h_next, None, (pre, h_next))

    def step_backward(self, dh_next, dc_next, saved, weight_hh):
        pre, h_next = saved
        dpre = dh_next * (1 - h_next**2) if self.nonlinearity == "tanh" else dh_next * (pre > 0)
        return StepGrads(dpre, dpre, dpre @ weight_hh, None)


@lru_cache(maxsize=16)
def _lstm_gate_scale(hidden: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """``(scale, 1 - scale)`` over the gates i, f, g, o: 1/2 for the three sigmoid gates, 1 for g."""
    scale = np.full(4 * hidden, 0.5, dtype=dtype)
    scale[2 * hidden : 3 * hidden] = 1
    shift = 1 - scale
    scale.flags.writeable = shift.flags.writeable = False
    return scale, shift


class LSTMCell(CellKind):
    name, gates = "lstm", 4

    def step(self, input_proj, hidden_proj, h, c):
        hidden = hidden_proj.shape[1] // 4
        # All four gates in one tanh, in place in input_proj: with sigmoid(x) =
        # (1 + tanh(x / 2)) / 2 (gate_sigmoid), scale = 1/2 for i, f, o and 1 for g gives
        # gates = tanh(pre * scale) * scale + (1 - scale). Four operations on the (N, 4H)
        # array and no new one: per step, NumPy's fixed cost per call and fresh memory
        # cost more than the arithmetic on 32x1024 values.
        scale, shift = _lstm_gate_scale(hidden, hidden_proj.dtype)
        gates = np.add(input_proj, hidden_proj, out=input_proj)
        gates *= scale
        np.tanh(gates, out=gates)
        gates *= scale
        gates += shift
        i, f, g, o = (gates[:, k * hidden : (k + 1) * hidden] for k in range(4))
        c_next = f * c
        c_next += i * g
        tanh_c = np.tanh(c_next)
        return StepResult(o * tanh_c, c_next, (i, f, g, o, c, tanh_c))

    def step_backward(self, dh_next, dc_next, saved, weight_hh):
        i, f, g, o, c_prev, tanh_c = saved
        hidden = i.shape[1]
        # The cell state reaches the loss twice: through h = o * tanh(c) and directly (dc_next).
        dc = dh_next * o
        dc *= 1 - tanh_c * tanh_c
        dc += dc_next
        # Each gate's gradient is its output's gradient times its derivative (sigmoid:
        # s (1 - s), tanh: 1 - t^2), written straight into its slice of one (N, 4H) array.
        dpre = np.empty((len(i), 4 * hidden), dtype=i.dtype)
        di, df, dg, do = (dpre[:, k * hidden : (k + 1) * hidden] for k in range(4))
        np.multiply(dc, g, out=di)
        di *= i * (1 - i)
        np.multiply(dc, c_prev, out=df)
        df *= f * (1 - f)
        np.multiply(dc, i, out=dg)
        dg *= 1 - g * g
        np.multiply(dh_next, tanh_c, out=do)
        do *= o * (1 - o)
        return StepGrads(dpre, dpre, dpre @ weight_hh, dc * f)


class GRUCell(CellKind):
    name, gates = "gru", 3

    def step(self, input_proj, hidden_proj, h, c):
        hidden = hidden_proj.shape[1] // 3
        hid_n = hidden_proj[:, 2 * hidden :].copy()  # includes b_hn (inside the reset product); kept
        # r and z in one sigmoid, in place in input_proj's first two thirds, n in its last.
        rz = np.add(input_proj[:, : 2 * hidden], hidden_proj[:, : 2 * hidden], out=input_proj[:, : 2 * hidden])
        gate_sigmoid(rz, out=rz)
        r, z = rz[:, :hidden], rz[:, hidden:]
        n = input_proj[:, 2 * hidden :]
        n += r * hid_n
        np.tanh(n, out=n)
        h_next = h - n  # (1 - z) n + z h = n + z (h - n)
        h_next *= z
        h_next += n
        return StepResult(h_next, None, (r, z, n, hid_n, h))

    def step_backward(self, dh_next, dc_next, saved, weight_hh):
        r, z, n, hid_n, h = saved
        dn_pre = dh_next * (1 - z) * (1 - n**2)
        dz_pre = dh_next * (h - n) * z * (1 - z)
        dr_pre = dn_pre * hid_n * r * (1 - r)
        d_input_proj = np.concatenate([dr_pre, dz_pre, dn_pre], axis=1)
        d_hidden_proj = np.concatenate([dr_pre, dz_pre, dn_pre * r], axis=1)
        return StepGrads(d_input_proj, d_hidden_proj, dh_next * z + d_hidden_proj @ weight_hh, None)


def cell_kind(function: str, name: str, nonlinearity: str = "tanh") -> CellKind:
    if name == "rnn":
        if nonlinearity not in ("tanh", "relu"):
            raise check.invalid(function, "nonlinearity", f"must be 'tanh' or 'relu'; got {nonlinearity!r}")
        return RNNCell(nonlinearity)
    return LSTMCell() if name == "lstm" else GRUCell()


def project(values: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``values @ weight.T + bias`` over any leading axes: all gates (and steps) at once, as
    one 2-D matmul (a stack of matrices would be one small matmul per leading index)."""
    out = (values.reshape(-1, values.shape[-1]) @ weight.T).reshape(*values.shape[:-1], weight.shape[0])
    if bias is not None:
        out += bias
    return out


def check_cell_weights(function: str, kind: CellKind, x: np.ndarray, weight_ih, weight_hh, bias_ih, bias_hh) -> int:
    """Validate a cell's parameters against ``x``; returns the hidden size."""
    weight_hh = check.float_array(function, "weight_hh", weight_hh, ndim=2)
    check.same_dtype(function, "weight_hh", weight_hh, x.dtype)
    hidden = weight_hh.shape[1]
    check.shape_is(function, "weight_hh", weight_hh, (kind.gates * hidden, hidden))
    weight_ih = check.float_array(function, "weight_ih", weight_ih, ndim=2)
    check.same_dtype(function, "weight_ih", weight_ih, x.dtype)
    check.shape_is(function, "weight_ih", weight_ih, (kind.gates * hidden, x.shape[-1]))
    if (bias_ih is None) != (bias_hh is None):
        raise check.invalid(function, "bias_ih" if bias_ih is None else "bias_hh", "must be given together with the other bias, or both None")
    for name, bias in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if bias is not None:
            check.same_dtype(function, name, check.float_array(function, name, bias, ndim=1), x.dtype)
            check.shape_is(function, name, bias, (kind.gates * hidden,))
    return hidden


def check_state(function: str, name: str, value, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    value = check.float_array(function, name, value, ndim=len(shape))
    check.same_dtype(function, name, value, x.dtype)
    check.shape_is(function, name, value, shape)
    return value


# ------------------------------------------------------------------- the public cells


class CellCache(NamedTuple):
    kind: CellKind
    x: np.ndarray
    h: np.ndarray
    weight_ih: np.ndarray
    weight_hh: np.ndarray
    has_bias: bool
    saved: Any


def _cell_forward(function: str, kind: CellKind, x, h, c, weight_ih, weight_hh, bias_ih, bias_hh) -> tuple[StepResult, CellCache]:
    x = check.float_array(function, "x", x, ndim=2)
    hidden = check_cell_weights(function, kind, x, weight_ih, weight_hh, bias_ih, bias_hh)
    h = check_state(function, "h", h, x, (x.shape[0], hidden))
    if c is not None:
        c = check_state(function, "c", c, x, (x.shape[0], hidden))
    result = kind.step(project(x, weight_ih, bias_ih), project(h, weight_hh, bias_hh), h, c)
    cache = CellCache(kind, x.copy(), h.copy(), weight_ih.copy(), weight_hh.copy(), bias_ih is not None, result.saved)
    return result, cache


def _cell_backward(function: str, dh_next, dc_next, cache: CellCache):
    """``(dx, dh, dc, dweight_ih, dweight_hh, dbias_ih, dbias_hh)``; dc is None but for LSTM."""
    dh_next = check.float_array(function, "dh_next", dh_next, ndim=2)
    grads = cache.kind.step_backward(dh_next, dc_next, cache.saved, cache.weight_hh)
    dbias_ih = grads.d_input_proj.sum(axis=0) if cache.has_bias else None
    dbias_hh = grads.d_hidden_proj.sum(axis=0) if cache.has_bias else None
    return (
        grads.d_input_proj @ cache.weight_ih,
        grads.dh,
        grads.dc,
        grads.d_input_proj.T @ cache.x,
        grads.d_hidden_proj.T @ cache.h,
        dbias_ih,
        dbias_hh,
    )


def rnn_cell_forward(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu). Returns ``(h_next, cache)``."""
    kind = cell_kind("rnn_cell_forward", "rnn", nonlinearity)
    result, cache = _cell_forward("rnn_cell_forward", kind, x, h, None, weight_ih, weight_hh, bias_ih, bias_hh)
    return result.h, cache


def rnn_cell_backward(dh_next, cache: CellCache):
    """``(dx, dh, dweight_ih, dweight_hh, dbias_ih, dbias_hh)``."""
    dx, dh, _, *params = _cell_backward("rnn_cell_backward", dh_next, None, cache)
    return (dx, dh, *params)


def lstm_cell_forward(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM step, gates ``i, f, g, o``. Returns ``(h_next, c_next, cache)``."""
    function = "lstm_cell_forward"
    if c is None:
        raise TypeError(f"{function}: argument 'c' must be a numpy.ndarray; got None")
    result, cache = _cell_forward(function, LSTMCell(), x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    return result.h, result.c, cache


def lstm_cell_backward(dh_next, dc_next, cache: CellCache):
    """``(dx, dh, dc, dweight_ih, dweight_hh, dbias_ih, dbias_hh)``."""
    dc_next = check.float_array("lstm_cell_backward", "dc_next", dc_next, ndim=2)
    return _cell_backward("lstm_cell_backward", dh_next, dc_next, cache)


def gru_cell_forward(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One GRU step, gates ``r, z, n``. Returns ``(h_next, cache)``."""
    result, cache = _cell_forward("gru_cell_forward", GRUCell(), x, h, None, weight_ih, weight_hh, bias_ih, bias_hh)
    return result.h, cache


def gru_cell_backward(dh_next, cache: CellCache):
    """``(dx, dh, dweight_ih, dweight_hh, dbias_ih, dbias_hh)``."""
    dx, dh, _, *params = _cell_backward("gru_cell_backward", dh_next, None, cache)
    return (dx, dh, *params)
