"""Course 5, week 1 ("Building your Recurrent Neural Network: Step by Step"): features first,
``x`` (n_x, m, T_x), ``[a_prev; xt]``, one bias per gate.

The cells and sequences are entries of their own, in the course's layout: their twins are
PyTorch in that layout, so their messages name the course's arrays (``dxt``, ``dWax``,
``dbf``) and index them as the learner does."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from ...op_entry import OpEntry
from ...sample import Sample
from ...strategies import SEEDS, edge_or_range, make_array, moved_off, value_kinds
from .. import Binding
from ..adapting import key, learner_function
from .common import (
    COURSE_5,
    KEEPDIMS,
    checked,
    compare_returned,
    course_call,
    own_layout_entry,
    unpack,
)

RNN_KEYS = ("Wax", "Waa", "Wya", "ba", "by")
LSTM_KEYS = ("Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo", "Wy", "by")
# The update gate is 'i' (Wi, bi) in the course's notebooks, 'u' (Wu, bu) in some published versions.
LSTM_ALIASES = {"dWi": ("dWi", "dWu"), "dbi": ("dbi", "dbu")}


def _recurrent_samples(kind: str, *, sequence: bool):
    """Calls in the course's layout: features first, one example per column, time last;
    T_x and m from 1, and half the draws with every size different (a transpose shows)."""

    @st.composite
    def samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
        small = for_gradcheck
        typical = draw(st.booleans(), label="typical shape")
        n_x, n_a = draw(edge_or_range(1, 3), label="n_x"), draw(edge_or_range(1, 3), label="n_a")
        n_y, m = draw(edge_or_range(1, 3), label="n_y"), draw(edge_or_range(1, 2 if small else 4), label="m")
        steps = draw(st.integers(2, 3 if small else 4) if typical else edge_or_range(1, 3 if small else 4), label="T_x") if sequence else 0
        if typical:
            m = moved_off(m, steps)
            n_x = moved_off(n_x, m, steps)
            n_a = moved_off(n_a, m, steps, n_x)
            n_y = moved_off(n_y, m, steps, n_x, n_a)
        seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
        rng = np.random.default_rng(seed)
        arrays: dict[str, Any] = {"x": make_array(rng, (n_x, m, steps), values)} if sequence else {"xt": make_array(rng, (n_x, m), values)}
        arrays["a0" if sequence else "a_prev"] = make_array(rng, (n_a, m), values)
        if kind == "lstm" and not sequence:
            arrays["c_prev"] = make_array(rng, (n_a, m), values)
        if kind == "rnn":
            shapes = {"Wax": (n_a, n_x), "Waa": (n_a, n_a), "Wya": (n_y, n_a), "ba": (n_a, 1), "by": (n_y, 1)}
        else:
            gates = {name: (n_a, n_a + n_x) if name.startswith("W") else (n_a, 1) for name in LSTM_KEYS[:8]}
            shapes = {**gates, "Wy": (n_y, n_a), "by": (n_y, 1)}
        arrays |= {name: make_array(rng, shape, values) for name, shape in shapes.items()}
        return Sample(arrays, {}, seed, values)

    return samples


# ----------------------------------------------------------------------------- the twins

def _softmax_over_rows(z: torch.Tensor) -> torch.Tensor:
    """Softmax over axis 0 (each column is one example), in PyTorch's arithmetic. Written out:
    torch.softmax of a small tensor spreads its rows over the intra-op threads and costs up
    to milliseconds a call on a busy CPU, and gradcheck calls the twin thousands of times."""
    e = torch.exp(z - z.amax(dim=0, keepdim=True))
    return e / e.sum(dim=0, keepdim=True)


def _rnn_cell_twin(xt, a_prev, Wax, Waa, Wya, ba, by):
    a_next = torch.tanh(Wax @ xt + Waa @ a_prev + ba)
    return a_next, _softmax_over_rows(Wya @ a_next + by)


def _rnn_twin(x, a0, *weights):
    a_next, a, y = a0, [], []
    for t in range(x.shape[2]):
        a_next, yt = _rnn_cell_twin(x[:, :, t], a_next, *weights)
        a.append(a_next)
        y.append(yt)
    return torch.stack(a, dim=2), torch.stack(y, dim=2)


def _lstm_cell_twin(xt, a_prev, c_prev, Wf, bf, Wi, bi, Wc, bc, Wo, bo, Wy, by):
    concat = torch.cat([a_prev, xt], dim=0)  # a_prev first
    ft, it = torch.sigmoid(Wf @ concat + bf), torch.sigmoid(Wi @ concat + bi)
    cct, ot = torch.tanh(Wc @ concat + bc), torch.sigmoid(Wo @ concat + bo)
    c_next = ft * c_prev + it * cct
    a_next = ot * torch.tanh(c_next)
    return a_next, c_next, _softmax_over_rows(Wy @ a_next + by)


def _lstm_twin(x, a0, *weights):
    a_next, c_next = a0, torch.zeros_like(a0)  # c0 = 0, inside lstm_forward
    a, y, c = [], [], []
    for t in range(x.shape[2]):
        a_next, c_next, yt = _lstm_cell_twin(x[:, :, t], a_next, c_next, *weights)
        a.append(a_next)
        c.append(c_next)
        y.append(yt)
    return torch.stack(a, dim=2), torch.stack(y, dim=2), torch.stack(c, dim=2)


# ---------------------------------------------------------------------------- the adapter

def _lstm_parameters(weights) -> dict[str, np.ndarray]:
    parameters = dict(zip(LSTM_KEYS, weights))
    parameters["Wu"], parameters["bu"] = parameters["Wi"], parameters["bi"]  # the update gate's other published name
    return parameters


def _grad(function: str, grads, name: str, shape, *, names: tuple[str, ...] = ()) -> np.ndarray:
    __tracebackhide__ = True
    hint = KEEPDIMS.replace("dZ", "the gate's gradient") if name.startswith("db") else ""
    return checked(function, f"gradients['{name}']", key(function, grads, *(names or (name,))), shape, hint=hint)


# The functions' returns, in order: the entry's outputs (what the backward takes gradients
# of) and the output head, compared inside the adapter (compare_returned).
RETURNS = {
    "rnn_cell": ("a_next", "yt_pred"),
    "rnn": ("a", "y_pred"),
    "lstm_cell": ("a_next", "c_next", "yt_pred"),
    "lstm": ("a", "y", "c"),
}
OUTPUTS = {"rnn_cell": ("a_next",), "rnn": ("a",), "lstm_cell": ("a_next", "c_next"), "lstm": ("a",)}
FULL_TWINS: dict[str, Callable] = {"rnn_cell": _rnn_cell_twin, "rnn": _rnn_twin, "lstm_cell": _lstm_cell_twin, "lstm": _lstm_twin}


def _recurrent(stem: str, entry: OpEntry):
    """The adapter of a course's cell or sequence pair, in the course's own layout: its
    parameters dict built from the entry's arrays, its gradients read from the dict it returns."""
    kind, sequence = stem.split("_")[0], not stem.endswith("_cell")
    forward_name, backward_name = f"{stem}_forward", f"{stem}_backward"
    weights_keys = RNN_KEYS if kind == "rnn" else LSTM_KEYS
    states = len(entry.array_args) - len(weights_keys)
    returns = RETURNS[stem]
    # The docstring of rnn_cell_backward says dx, its code and tests dxt; the update gate is i or u.
    aliases = {"dxt": ("dxt", "dx"), **LSTM_ALIASES}

    def make(module: ModuleType):
        course_forward, course_backward = getattr(module, forward_name), learner_function(module, backward_name)

        def forward(*args):
            state_args, weights = args[:states], args[states:]
            parameters = dict(zip(weights_keys, weights)) if kind == "rnn" else _lstm_parameters(weights)
            with course_call():
                result = unpack(forward_name, course_forward(*state_args, parameters), (*returns, "caches" if sequence else "cache"))
            first = state_args[0]
            m = first.shape[1]
            n_a, n_y = state_args[1].shape[0], parameters["Wya" if kind == "rnn" else "Wy"].shape[0]
            time = first.shape[2:]
            expected = {name: ((n_y if name.startswith("y") else n_a), m, *time) for name in returns}
            hint = f"{forward_name} returns {', '.join(returns)} in that order" if kind == "lstm" and sequence else ""
            got = {name: checked(forward_name, name, value, expected[name], hint=hint) for name, value in zip(returns, result)}
            compare_returned(entry, FULL_TWINS[stem], args, got)
            shapes = {f"d{arg}": value.shape for arg, value in zip(entry.array_args, args) if arg in entry.gradient_args}
            return (*(got[output] for output in entry.outputs), (result[-1], shapes))

        def backward(*upstream_and_cache):
            *upstream, (course_cache, shapes) = upstream_and_cache
            assert course_backward is not None
            with course_call():
                grads = course_backward(*upstream, course_cache)
            return tuple(_grad(backward_name, grads, grad, shape, names=aliases.get(grad, ())) for grad, shape in shapes.items())

        return forward, backward if course_backward else None

    return make


# ------------------------------------------------------------------------------ the hints

RNN_CELL = (
    "a_next = np.tanh(np.dot(Waa, a_prev) + np.dot(Wax, xt) + ba); yt_pred = softmax(np.dot(Wya, a_next) + by), "
    "normalised over axis 0 (the n_y rows of each column)."
)
RNN_CELL_BACKWARD = (
    "dtanh = (1 - a_next ** 2) * da_next; dxt = np.dot(Wax.T, dtanh), da_prev = np.dot(Waa.T, dtanh), dWax = np.dot(dtanh, xt.T), "
    "dWaa = np.dot(dtanh, a_prev.T), dba = np.sum(dtanh, axis=1, keepdims=True)."
)
LSTM_CELL = (
    "concat = [a_prev; xt] (a_prev on top, np.concatenate axis 0); ft, it, ot = sigmoid(W concat + b) of Wf, Wi, Wo; "
    "cct = np.tanh(np.dot(Wc, concat) + bc); c_next = ft * c_prev + it * cct; a_next = ot * np.tanh(c_next); "
    "yt_pred = softmax(np.dot(Wy, a_next) + by) over axis 0."
)
LSTM_CELL_BACKWARD = (
    "dot = da_next * np.tanh(c_next) * ot * (1 - ot); with dtc = dc_next + da_next * ot * (1 - np.tanh(c_next) ** 2): "
    "dcct = dtc * it * (1 - cct ** 2), dit = dtc * cct * it * (1 - it), dft = dtc * c_prev * ft * (1 - ft); "
    "dW = np.dot(d_gate, concat.T), db = np.sum(d_gate, axis=1, keepdims=True); da_prev and dxt sum W[:, :n_a].T and "
    "W[:, n_a:].T (columns, not rows) times each gate's gradient; dc_prev = dtc * ft."
)
BPTT = (
    "Backpropagation through time, for t in reversed(range(T_x)) with T_x = da.shape[2]: call the cell's backward with "
    "da[:, :, t] + da_prevt{dc}, then carry da_prevt = gradients['da_prev']{carry} to step t - 1 and add the parameters' "
    "gradients over the steps; da0 is the last da_prevt (no 1/m)."
)
RNN_BPTT = BPTT.format(dc="", carry="")
RNN_THROUGH_TIME = (
    "a_next = a0, then for t in range(T_x): a_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], a_next, parameters), "
    "a[:, :, t] = a_next, y_pred[:, :, t] = yt_pred."
)
LSTM_THROUGH_TIME = (
    "a_next = a0 and c_next = np.zeros((n_a, m)) (c0 = 0), then for t in range(T_x): lstm_cell_forward(x[:, :, t], a_next, "
    "c_next, parameters), a[:, :, t] = a_next, c[:, :, t] = c_next, y[:, :, t] = yt_pred; return a, y, c, caches."
)
LSTM_BPTT = BPTT.format(dc=" and dc_prevt", carry=" and dc_prevt = gradients['dc_prev']")


def _recurrent_entry(name: str) -> OpEntry:
    kind, sequence = name.split("_")[0], not name.endswith("_cell")
    states = ("x", "a0") if sequence else (("xt", "a_prev", "c_prev") if kind == "lstm" else ("xt", "a_prev"))
    weights = RNN_KEYS if kind == "rnn" else LSTM_KEYS
    trained = ("Wax", "Waa", "ba") if kind == "rnn" else LSTM_KEYS[:8]
    outputs, full_twin = OUTPUTS[name], FULL_TWINS[name]
    count = len(outputs)

    def twin(*args):
        found = full_twin(*args)
        return found[0] if count == 1 else found[:count]

    forward_words, backward_words = (RNN_CELL, RNN_CELL_BACKWARD) if kind == "rnn" else (LSTM_CELL, LSTM_CELL_BACKWARD)
    if sequence:
        forward_words = (RNN_THROUGH_TIME if kind == "rnn" else LSTM_THROUGH_TIME) + " " + forward_words
    through_time = (RNN_BPTT if kind == "rnn" else LSTM_BPTT) + " " if sequence else ""
    gradients = [f"d{arg}" for arg in (*states, *trained)]
    return own_layout_entry(
        title=f"{name}_forward / {name}_backward",
        name=name,
        array_args=(*states, *weights),
        grad_args=(*states, *trained),
        outputs=outputs,
        twin=twin,
        samples=_recurrent_samples(kind, sequence=sequence),
        time_axes={arg: 2 for arg in (*RETURNS[name], "dx")} if sequence else {},
        hints={**dict.fromkeys(RETURNS[name], forward_words), **{grad: through_time + backward_words for grad in gradients}},
    )


# ------------------------------------------------------------------------------ bindings

CONVENTIONS = {
    "rnn_cell": "rnn_cell_forward/rnn_cell_backward: features first, xt (n_x, m), a_prev (n_a, m), parameters Wax, Waa, Wya, ba, by; "
    "yt_pred = softmax(Wya a_next + by) over axis 0, compared with PyTorch's; the backward's gradients (dxt, da_prev, dWax, dWaa, "
    "dba; dx for dxt accepted) are checked for an upstream gradient into a_next only: the course leaves the output head "
    "(dWya, dby) to be 'calculated elsewhere'",
    "rnn": "rnn_forward/rnn_backward: x (n_x, m, T_x), a0 (n_a, m), a and y_pred (., m, T_x); rnn_backward's da is the upstream "
    "gradient of a at every time step, none flows through y_pred; its gradients dx, da0, dWax, dWaa, dba carry no 1/m",
    "lstm_cell": "lstm_cell_forward/lstm_cell_backward: concat = [a_prev; xt] (a_prev first), one W (n_a, n_a + n_x) and b (n_a, 1) per gate: "
    "Wf, Wi (update), Wc (candidate), Wo, and the output head Wy, by; the update gate's parameters are passed as both Wi, bi and "
    "Wu, bu (its name in some published versions), its gradients accepted as dWi, dbi or dWu, dbu; upstream gradients flow "
    "into a_next and c_next, none through yt_pred",
    "lstm": "lstm_forward/lstm_backward: c0 = 0 inside lstm_forward, which returns a, y, c (in that order, each (., m, T_x)); "
    "lstm_backward's da is the upstream gradient of a (none flows into y or c) and it returns dx, da0, dWf, dbf, dWi "
    "(or dWu), dbi (or dbu), dWc, dbc, dWo, dbo, no dc0",
}


def bindings() -> tuple[Binding, ...]:
    """Course 5, week 1's cells and sequences, in the notebook's order (the forwards, then
    their backwards, one binding per pair)."""
    found = []
    for name in ("rnn_cell", "rnn", "lstm_cell", "lstm"):
        entry = _recurrent_entry(name)
        found.append(
            Binding(entry, f"{name}_forward", f"{name}_backward", _recurrent(name, entry), conventions=(CONVENTIONS[name],), group=COURSE_5, converts_layout=False)
        )
    return tuple(found)
