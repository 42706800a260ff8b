"""Whole sequences through RNN, LSTM and GRU layers: multi-layer, bidirectional, variable
lengths, forward and backpropagation through time.

Layout and semantics are ``torch.nn.RNN``/``LSTM``/``GRU`` with ``batch_first=False``:
``x`` is (T, N, I), states are (num_layers * num_directions, N, H), ``params`` is keyed
like the module's ``named_parameters()`` and the output holds the forward direction first
on the feature axis. Each direction of each layer projects its whole input sequence in
one matmul and then loops over time (the loop over steps is inherent; batch and gates are
vectorised inside the step, see ``rnn_cells.py``).

Variable lengths follow ``pack_padded_sequence``: at a step past a sequence's length its
state is carried unchanged and its output is 0. So the forward direction's final state is
the one at the sequence's own last step, and the reverse direction, walking from T - 1
down, keeps its initial state until it reaches that step: it starts there.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validation as check
from .rnn_cells import CellKind, StepResult, cell_kind, check_state, project


class DirectionCache(NamedTuple):
    inputs: np.ndarray  # (T, N, I): this layer's input sequence
    h_before: np.ndarray  # (T, N, H): the state each step started from
    steps: list  # each step's saved values, in time order
    valid: np.ndarray  # (T, N, 1) bool: step t is inside sequence n
    weights: tuple  # (weight_ih, weight_hh, bias_ih, bias_hh)
    reverse: bool


class SequenceCache(NamedTuple):
    kind: CellKind
    directions: list[DirectionCache]  # layer-major: index = layer * num_directions + direction
    num_layers: int
    num_directions: int
    keys: list[tuple[str, ...]]  # the params keys of each direction, for dparams
    has_h0: bool
    has_c0: bool
    dtype: np.dtype


def _suffix(layer: int, direction: int) -> str:
    return f"_l{layer}" + ("_reverse" if direction else "")


def _param_keys(layer: int, direction: int, has_bias: bool) -> tuple[str, ...]:
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if has_bias else ("weight_ih", "weight_hh")
    return tuple(name + _suffix(layer, direction) for name in names)


def _check_params(function: str, kind: CellKind, x: np.ndarray, params, num_layers: int, num_directions: int):
    """Validate ``params`` against the module layout; returns (hidden size, has_bias)."""
    if not isinstance(params, dict):
        raise TypeError(f"{function}: argument 'params' must be a dict keyed like named_parameters(); got {type(params).__name__}")
    has_bias = "bias_ih_l0" in params
    expected = [key for layer in range(num_layers) for d in range(num_directions) for key in _param_keys(layer, d, has_bias)]
    if set(params) != set(expected):
        missing, unexpected = sorted(set(expected) - set(params)), sorted(set(params) - set(expected))
        raise check.invalid(
            function, "params",
            f"must hold exactly the keys of a {kind.name.upper()}(num_layers={num_layers}, bidirectional={num_directions == 2}"
            f", bias={has_bias}); missing {missing}, unexpected {unexpected}",
        )
    weight_hh = check.float_array(function, "params['weight_hh_l0']", params["weight_hh_l0"], ndim=2)
    hidden, rows = weight_hh.shape[1], kind.gates * weight_hh.shape[1]
    for key in expected:
        value = check.float_array(function, f"params['{key}']", params[key])
        check.same_dtype(function, f"params['{key}']", value, x.dtype)
        columns = x.shape[-1] if key in ("weight_ih_l0", "weight_ih_l0_reverse") else num_directions * hidden
        shape = {"weight_ih": (rows, columns), "weight_hh": (rows, hidden), "bias_ih": (rows,), "bias_hh": (rows,)}[key[: key.index("_l")]]
        check.shape_is(function, f"params['{key}']", value, shape)
    return hidden, has_bias


def _check_lengths(function: str, lengths, steps: int, batch: int) -> np.ndarray:
    """(T, N, 1) bool mask of the steps inside each sequence."""
    if lengths is None:
        return np.ones((steps, batch, 1), dtype=bool)
    if not isinstance(lengths, np.ndarray) or not np.issubdtype(lengths.dtype, np.integer):
        raise TypeError(f"{function}: argument 'lengths' must be an integer numpy.ndarray or None; got {getattr(lengths, 'dtype', type(lengths).__name__)}")
    check.shape_is(function, "lengths", lengths, (batch,))
    if lengths.size and (lengths.min() < 1 or lengths.max() > steps):
        raise check.invalid(function, "lengths", f"must lie in [1, T={steps}]; got {lengths.tolist()}")
    return (np.arange(steps)[:, None] < lengths[None, :])[..., None]


def _run_direction(kind: CellKind, inputs, h, c, weights, valid, reverse: bool):
    """One direction of one layer over the whole sequence: (outputs, h_last, c_last, cache)."""
    weight_ih, weight_hh, bias_ih, bias_hh = weights
    steps, batch, _ = inputs.shape
    input_proj = project(inputs, weight_ih, bias_ih)  # every step at once
    hidden_bias = bias_hh
    if bias_hh is not None and kind.gates != 3:
        # RNN and LSTM add both biases to one sum: fold b_hh in once, not at every step
        # (GRU keeps b_hn inside its reset product).
        input_proj += bias_hh
        hidden_bias = None
    # No new (N, gates * H) array per step (on a small step, NumPy's fresh memory costs more
    # than the arithmetic): each step's matmul writes into one buffer, lent to the step, and
    # the step computes its gates in place in its own slice of input_proj (CellKind.step).
    # The buffer is feature-major, (gates * H, N), seen as (N, gates * H) through .T: BLAS
    # computes weight_hh @ h.T ~20% faster here than h @ weight_hh.T, with no transposed copy
    # of the weights (the steps are elementwise, indifferent to the layout).
    hidden_proj_t = np.empty((weight_hh.shape[0], batch), dtype=inputs.dtype)
    hidden_proj = hidden_proj_t.T
    outputs = np.zeros((steps, batch, weight_hh.shape[1]), dtype=inputs.dtype)
    every_step_valid = bool(valid.all())
    h_first = h
    h_before = None if every_step_valid else np.empty_like(outputs)
    saved: list = [None] * steps
    for t in reversed(range(steps)) if reverse else range(steps):
        np.matmul(weight_hh, h.T, out=hidden_proj_t)
        if hidden_bias is not None:
            hidden_proj += hidden_bias
        if h_before is not None:
            h_before[t] = h
        result: StepResult = kind.step(input_proj[t], hidden_proj, h, c)
        saved[t] = result.saved
        if every_step_valid:
            h, c, outputs[t] = result.h, result.c, result.h
            continue
        # Past a sequence's end its state is carried unchanged (pack_padded_sequence).
        h = np.where(valid[t], result.h, h)
        c = None if c is None else np.where(valid[t], result.c, c)
        outputs[t] = np.where(valid[t], result.h, 0)
    if h_before is None:
        # Every step started from the previous one's output (the first from h0; in reverse,
        # the previous step is t + 1): one copy after the loop instead of one per step.
        parts = [outputs[1:], h_first[None]] if reverse else [h_first[None], outputs[:-1]]
        h_before = np.concatenate(parts)
    return outputs, h, c, DirectionCache(inputs, h_before, saved, valid, weights, reverse)


def _run_direction_backward(kind: CellKind, doutputs, dh, dc, cache: DirectionCache):
    """Backpropagation through time for one direction: (dinputs, dh0, dc0, param grads)."""
    weight_ih, weight_hh, bias_ih, _ = cache.weights
    steps = len(doutputs)
    d_input_proj = np.empty((steps, doutputs.shape[1], weight_ih.shape[0]), dtype=doutputs.dtype)
    # RNN and LSTM steps return one array as both projections' gradient: then so is the
    # whole sequence's (GRU's differ: its reset gate multiplies the hidden projection).
    d_hidden_proj: np.ndarray | None = None
    every_step_valid = bool(cache.valid.all())
    for t in range(steps) if cache.reverse else reversed(range(steps)):
        # The state after step t fed the output at t and every later step (through dh).
        if every_step_valid:
            dh_step, dc_step = dh + doutputs[t], dc
        else:
            valid = cache.valid[t]
            dh_step = np.where(valid, dh + doutputs[t], 0)
            dc_step = None if dc is None else np.where(valid, dc, 0)
        grads = kind.step_backward(dh_step, dc_step, cache.steps[t], weight_hh)
        d_input_proj[t] = grads.d_input_proj
        if grads.d_hidden_proj is not grads.d_input_proj:
            if d_hidden_proj is None:
                d_hidden_proj = np.empty_like(d_input_proj)
            d_hidden_proj[t] = grads.d_hidden_proj
        if every_step_valid:
            dh, dc = grads.dh, grads.dc
            continue
        dh = np.where(valid, grads.dh, dh)  # a carried state passes its gradient straight back
        dc = None if dc is None else np.where(valid, grads.dc, dc)
    if d_hidden_proj is None:
        d_hidden_proj = d_input_proj
    # Every parameter gradient sums over all steps at once: one matmul each.
    flat_input_proj = d_input_proj.reshape(-1, d_input_proj.shape[-1])
    flat_hidden_proj = d_hidden_proj.reshape(-1, d_hidden_proj.shape[-1])
    param_grads = [
        flat_input_proj.T @ cache.inputs.reshape(-1, cache.inputs.shape[-1]),
        flat_hidden_proj.T @ cache.h_before.reshape(-1, cache.h_before.shape[-1]),
    ]
    if bias_ih is not None:
        param_grads += [flat_input_proj.sum(axis=0), flat_hidden_proj.sum(axis=0)]
    dinputs = (flat_input_proj @ weight_ih).reshape(*d_input_proj.shape[:2], weight_ih.shape[1])
    return dinputs, dh, dc, param_grads


def _sequence_forward(function: str, kind: CellKind, x, h0, c0, params, num_layers, bidirectional, lengths):
    x = check.float_array(function, "x", x, ndim=3)
    num_layers = check.positive_int(function, "num_layers", num_layers)
    num_directions = 2 if check.boolean(function, "bidirectional", bidirectional) else 1
    hidden, has_bias = _check_params(function, kind, x, params, num_layers, num_directions)
    steps, batch, _ = x.shape
    state_shape = (num_layers * num_directions, batch, hidden)
    zeros = np.zeros(state_shape, dtype=x.dtype)
    h_init = zeros if h0 is None else check_state(function, "h0", h0, x, state_shape)
    c_init = None
    if kind.gates == 4:  # the LSTM's cell state
        c_init = zeros if c0 is None else check_state(function, "c0", c0, x, state_shape)
    valid = _check_lengths(function, lengths, steps, batch)

    h_n, c_n = np.empty_like(zeros), np.empty_like(zeros)
    directions, keys = [], []
    layer_input = x
    for layer in range(num_layers):
        outputs = []
        for direction in range(num_directions):
            index = layer * num_directions + direction
            names = _param_keys(layer, direction, has_bias)
            weights = tuple(params[name] for name in names) + ((None, None) if not has_bias else ())
            out, h_n[index], c_last, cache = _run_direction(
                kind, layer_input, h_init[index], None if c_init is None else c_init[index], weights, valid, reverse=direction == 1
            )
            if c_last is not None:
                c_n[index] = c_last
            outputs.append(out)
            directions.append(cache)
            keys.append(names)
        # One direction's outputs are the layer's output as they are: its cache keeps a copy
        # of them (h_before), not them.
        layer_input = outputs[0] if num_directions == 1 else np.concatenate(outputs, axis=-1)
    cache = SequenceCache(kind, directions, num_layers, num_directions, keys, h0 is not None, c0 is not None, x.dtype)
    return layer_input, h_n, (c_n if c_init is not None else None), cache


def _sequence_backward(function: str, doutput, dh_n, dc_n, cache: SequenceCache):
    """``(dx, dh0, dc0, dparams)``; ``None`` upstream gradients count as zeros."""
    first = cache.directions[0]
    steps, batch = first.inputs.shape[:2]
    hidden = first.weights[1].shape[1]
    lstm = cache.kind.gates == 4
    state_shape = (cache.num_layers * cache.num_directions, batch, hidden)

    def upstream(name: str, value, shape):
        if value is None:
            return np.zeros(shape, dtype=cache.dtype)
        return check_state(function, name, value, np.empty(0, dtype=cache.dtype), shape)

    d_layer_output = upstream("doutput", doutput, (steps, batch, cache.num_directions * hidden))
    dh_n = upstream("dh_n", dh_n, state_shape)
    dc_n = upstream("dc_n", dc_n, state_shape) if lstm else None
    dh0, dc0 = np.empty(state_shape, dtype=cache.dtype), np.empty(state_shape, dtype=cache.dtype)
    dparams: dict[str, np.ndarray] = {}
    for layer in reversed(range(cache.num_layers)):
        d_layer_input = None
        for direction in range(cache.num_directions):
            index = layer * cache.num_directions + direction
            d_out = d_layer_output[..., direction * hidden : (direction + 1) * hidden]
            dinputs, dh0[index], dc_first, grads = _run_direction_backward(
                cache.kind, d_out, dh_n[index], None if dc_n is None else dc_n[index], cache.directions[index]
            )
            if dc_first is not None:
                dc0[index] = dc_first
            dparams.update(zip(cache.keys[index], grads))
            d_layer_input = dinputs if d_layer_input is None else d_layer_input + dinputs
        d_layer_output = d_layer_input
    ordered = {key: dparams[key] for names in cache.keys for key in names}
    return d_layer_output, (dh0 if cache.has_h0 else None), (dc0 if lstm and cache.has_c0 else None), ordered


def rnn_forward(x, h0, params, num_layers=1, nonlinearity="tanh", bidirectional=False, lengths=None):
    """Elman RNN over ``x`` (T, N, I). Returns ``(output, h_n, cache)``."""
    kind = cell_kind("rnn_forward", "rnn", nonlinearity)
    output, h_n, _, cache = _sequence_forward("rnn_forward", kind, x, h0, None, params, num_layers, bidirectional, lengths)
    return output, h_n, cache


def rnn_backward(doutput, dh_n, cache: SequenceCache):
    """``(dx, dh0, dparams)``; ``dh0`` is None when ``h0`` was."""
    dx, dh0, _, dparams = _sequence_backward("rnn_backward", doutput, dh_n, None, cache)
    return dx, dh0, dparams


def lstm_forward(x, h0, c0, params, num_layers=1, bidirectional=False, lengths=None):
    """LSTM over ``x`` (T, N, I). Returns ``(output, h_n, c_n, cache)``."""
    return _sequence_forward("lstm_forward", cell_kind("lstm_forward", "lstm"), x, h0, c0, params, num_layers, bidirectional, lengths)


def lstm_backward(doutput, dh_n, dc_n, cache: SequenceCache):
    """``(dx, dh0, dc0, dparams)``."""
    return _sequence_backward("lstm_backward", doutput, dh_n, dc_n, cache)


def gru_forward(x, h0, params, num_layers=1, bidirectional=False, lengths=None):
    """GRU over ``x`` (T, N, I). Returns ``(output, h_n, cache)``."""
    output, h_n, _, cache = _sequence_forward("gru_forward", cell_kind("gru_forward", "gru"), x, h0, None, params, num_layers, bidirectional, lengths)
    return output, h_n, cache


def gru_backward(doutput, dh_n, cache: SequenceCache):
    """``(dx, dh0, dparams)``."""
    dx, dh0, _, dparams = _sequence_backward("gru_backward", doutput, dh_n, None, cache)
    return dx, dh0, dparams
