"""Recurrent cells and sequences: strategies, bad calls and registry entries.

Sequences draw T and N from 1, layers 1-3, both directions, initial states given or None,
lengths all equal, all 1 or mixed (unsorted), and leave some upstream gradients None.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from hypothesis import strategies as st

import torch_impl

from ..op_entry import ErrorInput, Feature, OpEntry, Tolerance, normal_array
from ..sample import Sample
from ..strategies import SEEDS, edge_or_range, enabled, make_array, moved_off, value_kinds

GATES = {"rnn": 1, "lstm": 4, "gru": 3}
# float32 rounding compounds through the time steps and layers of the recurrence.
FLOAT32_RECURRENT = Tolerance(1e-5, 5e-5, "float32 rounding compounds through up to 4 time steps and 3 layers")


def _nonlinearities(kind: str, for_gradcheck: bool, on) -> st.SearchStrategy[str]:
    # gradcheck keeps to tanh: finite differences across ReLU's kink at 0 are meaningless.
    return st.just("tanh") if for_gradcheck or not on("relu") else st.sampled_from(["tanh", "relu"])


def cell_samples(kind: str):
    @st.composite
    def samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
        on = enabled(features)
        typical = draw(st.booleans(), label="typical shape")  # N, I and H all different
        batch = draw(edge_or_range(1, 3), label="N")
        inputs, hidden = draw(edge_or_range(1, 4), label="I"), draw(edge_or_range(1, 4), label="H")
        if typical:
            inputs = moved_off(inputs, batch)
            hidden = moved_off(hidden, batch, inputs)
        seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
        rng = np.random.default_rng(seed)
        rows = GATES[kind] * hidden
        arrays: dict[str, Any] = {"x": make_array(rng, (batch, inputs), values), "h": make_array(rng, (batch, hidden), values)}
        if kind == "lstm":
            arrays["c"] = make_array(rng, (batch, hidden), values)
        has_bias = draw(st.booleans(), label="bias") if on("no bias") else True
        arrays |= {
            "weight_ih": make_array(rng, (rows, inputs), values),
            "weight_hh": make_array(rng, (rows, hidden), values),
            "bias_ih": make_array(rng, (rows,), values) if has_bias else None,
            "bias_hh": make_array(rng, (rows,), values) if has_bias else None,
        }
        kwargs = {"nonlinearity": draw(_nonlinearities(kind, for_gradcheck, on), label="nonlinearity")} if kind == "rnn" else {}
        return Sample(arrays, kwargs, seed, values)

    return samples


def make_params(rng, kind: str, inputs: int, hidden: int, num_layers: int, num_directions: int, has_bias: bool, values: str):
    """A ``params`` dict keyed like ``torch.nn.RNN/LSTM/GRU(...).named_parameters()``."""
    rows = GATES[kind] * hidden
    params = {}
    for layer in range(num_layers):
        for direction in range(num_directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            params["weight_ih" + suffix] = make_array(rng, (rows, inputs if layer == 0 else num_directions * hidden), values)
            params["weight_hh" + suffix] = make_array(rng, (rows, hidden), values)
            if has_bias:
                params["bias_ih" + suffix] = make_array(rng, (rows,), values)
                params["bias_hh" + suffix] = make_array(rng, (rows,), values)
    return params


def sequence_samples(kind: str, outputs: tuple[str, ...]):
    @st.composite
    def samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
        on = enabled(features)
        small = for_gradcheck  # gradcheck perturbs every parameter: keep them few
        typical = draw(st.booleans(), label="typical shape")  # T > 1, and T, N, I, H all different
        steps = draw(st.integers(2, 3 if small else 4) if typical else edge_or_range(1, 3 if small else 4), label="T")
        batch = draw(edge_or_range(1, 2 if small else 3), label="N")
        inputs = draw(edge_or_range(1, 2 if small else 3), label="I")
        hidden = draw(edge_or_range(1, 2 if small else 3), label="H")
        if typical:
            batch = moved_off(batch, steps)
            inputs = moved_off(inputs, steps, batch)
            hidden = moved_off(hidden, steps, batch, inputs)
        num_layers = draw(edge_or_range(1, 2 if small else 3), label="num_layers") if on("several layers") else 1
        bidirectional = draw(st.booleans(), label="bidirectional") if on("bidirectional") else False
        has_bias = draw(st.booleans(), label="bias") if on("no bias") else True
        seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
        rng = np.random.default_rng(seed)
        num_directions = 2 if bidirectional else 1
        state_shape = (num_layers * num_directions, batch, hidden)
        arrays: dict[str, Any] = {"x": make_array(rng, (steps, batch, inputs), values)}
        arrays["h0"] = make_array(rng, state_shape, values) if not on("h0=None") or draw(st.booleans(), label="h0 given") else None
        if kind == "lstm":
            arrays["c0"] = make_array(rng, state_shape, values) if not on("h0=None") or draw(st.booleans(), label="c0 given") else None
        arrays["params"] = make_params(rng, kind, inputs, hidden, num_layers, num_directions, has_bias, values)
        spread = draw(st.sampled_from(["none", "all equal", "all 1", "mixed"]), label="lengths") if on("lengths") else "none"
        arrays["lengths"] = {
            "none": None,
            "all equal": np.full(batch, steps),
            "all 1": np.ones(batch, dtype=np.int64),
            "mixed": rng.integers(1, steps + 1, size=batch),  # unsorted, as pack_padded_sequence(enforce_sorted=False)
        }[spread]
        kwargs = {"num_layers": num_layers, "bidirectional": bidirectional}
        if kind == "rnn":
            kwargs = {"num_layers": num_layers, "nonlinearity": draw(_nonlinearities(kind, for_gradcheck, on), label="nonlinearity"), "bidirectional": bidirectional}
        unused = draw(st.sets(st.sampled_from(outputs)), label="outputs without upstream gradient") if on("None upstream gradients") else ()
        no_upstream = tuple(sorted(unused))
        return Sample(arrays, kwargs, seed, values, no_upstream)

    return samples


def _cell_errors(kind: str) -> tuple[ErrorInput, ...]:
    rows = GATES[kind] * 3
    x, h = normal_array(2, 4), normal_array(2, 3)
    states = (x, h, h) if kind == "lstm" else (x, h)
    weights = (normal_array(rows, 4), normal_array(rows, 3))
    errors: tuple[ErrorInput, ...] = (
        ErrorInput("h of the wrong shape", (x, normal_array(2, 2), *states[2:], *weights), {}, ValueError, "h"),
        ErrorInput("weight_ih of the wrong width", (*states, normal_array(rows, 5), weights[1]), {}, ValueError, "weight_ih"),
        ErrorInput("weight_hh with an extra row", (*states, weights[0], normal_array(rows + 1, 3)), {}, ValueError, "weight_hh"),
        ErrorInput("integer-typed input", (np.ones((2, 4), dtype=np.int64), *states[1:], *weights), {}, TypeError, "x"),
        ErrorInput("bias_ih without bias_hh", (*states, *weights, normal_array(rows)), {}, ValueError, "bias_hh"),
    )
    if kind == "rnn":
        errors += (ErrorInput("unknown nonlinearity", (*states, *weights), {"nonlinearity": "sigmoid"}, ValueError, "nonlinearity"),)
    return errors


def _sequence_errors(kind: str) -> tuple[ErrorInput, ...]:
    rng = np.random.default_rng(0)
    params = make_params(rng, kind, 2, 3, 1, 1, True, "normal")
    x = normal_array(4, 2, 2)
    states = (None, None) if kind == "lstm" else (None,)

    def call(x=x, params=params, h0=None, **kwargs) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return ((x, h0, *states[1:], params), kwargs)

    errors: tuple[ErrorInput, ...] = (
        ErrorInput("params missing a key", *call(params={k: v for k, v in params.items() if k != "weight_hh_l0"}), ValueError, "params"),
        ErrorInput("params of a 2-layer module for num_layers=1", *call(params=make_params(rng, kind, 2, 3, 2, 1, True, "normal")), ValueError, "params"),
        ErrorInput("params of the wrong shape", *call(params={**params, "weight_ih_l0": normal_array(GATES[kind] * 3, 5)}), ValueError, "params"),
        ErrorInput("2-D input", *call(x=normal_array(4, 2)), ValueError, "x"),
        ErrorInput("integer-typed input", *call(x=np.ones((4, 2, 2), dtype=np.int64)), TypeError, "x"),
        ErrorInput("h0 of the wrong shape", *call(h0=normal_array(2, 2, 3)), ValueError, "h0"),
        ErrorInput("a zero length", *call(lengths=np.array([0, 4])), ValueError, "lengths"),
        ErrorInput("a length past T", *call(lengths=np.array([5, 4])), ValueError, "lengths"),
        ErrorInput("float lengths", *call(lengths=np.array([2.0, 4.0])), TypeError, "lengths"),
        ErrorInput("zero layers", *call(num_layers=0), ValueError, "num_layers"),
    )
    if kind == "rnn":
        errors += (ErrorInput("unknown nonlinearity", *call(nonlinearity="sigmoid"), ValueError, "nonlinearity"),)
    return errors


CELL_HINTS = {
    "rnn": "h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh); its derivative is 1 - h'^2 (relu: h' > 0).",
    "lstm": "Gates are i, f, g, o in PyTorch's order (CS231n uses i, f, o, g); c' = f c + i g, h' = o tanh(c').",
    "gru": "r, z, n in that order; n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) (b_hn inside the reset product); h' = (1 - z) n + z h.",
}
BPTT_HINT = (
    "Backpropagation through time: the gradient reaching step t's state is the output gradient at t plus the gradient "
    "coming back from step t + 1 (and, for LSTM, the cell-state gradient through f)."
)
LENGTHS_HINT = (
    "With lengths, outputs past each sequence's end are 0, its final state is the one at its own last step, and the "
    "reverse direction starts at that step; the output holds the forward direction first."
)


def _cell_plain(kind: str):
    def plain() -> Sample:
        rows = GATES[kind] * 3
        states = {"x": normal_array(2, 4), "h": normal_array(2, 3), **({"c": normal_array(2, 3)} if kind == "lstm" else {})}
        weights = {"weight_ih": normal_array(rows, 4), "weight_hh": normal_array(rows, 3), "bias_ih": normal_array(rows), "bias_hh": normal_array(rows)}
        return Sample(states | weights, {"nonlinearity": "tanh"} if kind == "rnn" else {})

    return plain


def _cell_features(kind: str) -> tuple[Feature, ...]:
    no_bias = Feature("no bias", probe=lambda s: s.changed({"bias_ih": None, "bias_hh": None}))
    if kind == "rnn":
        return (no_bias, Feature("relu", "nonlinearity", lambda s: s.changed(nonlinearity="relu")))
    return (no_bias,)


def _sequence_plain(kind: str, *, num_layers: int = 1, bidirectional: bool = False, bias: bool = True):
    def plain() -> Sample:
        directions = 2 if bidirectional else 1
        states = {"h0": normal_array(num_layers * directions, 2, 3)}
        if kind == "lstm":
            states["c0"] = normal_array(num_layers * directions, 2, 3)
        params = make_params(np.random.default_rng(0), kind, 2, 3, num_layers, directions, bias, "normal")
        kwargs = {"num_layers": num_layers, **({"nonlinearity": "tanh"} if kind == "rnn" else {}), "bidirectional": bidirectional}
        return Sample({"x": normal_array(3, 2, 2), **states, "params": params, "lengths": None}, kwargs)

    return plain


def _sequence_features(kind: str, outputs: tuple[str, ...]) -> tuple[Feature, ...]:
    def rebuilt(**options):  # the plain call of a larger module: every array changes with it
        return lambda s: _sequence_plain(kind, **options)()

    features = (
        Feature("several layers", "num_layers", rebuilt(num_layers=2)),
        Feature("bidirectional", "bidirectional", rebuilt(bidirectional=True)),
        Feature("lengths", "lengths", lambda s: s.changed({"lengths": np.array([3, 1])})),
        Feature("h0=None", probe=lambda s: s.changed({state: None for state in ("h0", "c0") if state in s.arrays})),
        Feature("no bias", probe=rebuilt(bias=False)),
        Feature("None upstream gradients", probe=lambda s: dataclasses.replace(s, no_upstream=outputs[1:])),
    )
    return (*features, Feature("relu", "nonlinearity", lambda s: s.changed(nonlinearity="relu"))) if kind == "rnn" else features


def _cell_entry(kind: str, outputs: tuple[str, ...]) -> OpEntry:
    states = ("x", "h", "c") if kind == "lstm" else ("x", "h")
    return OpEntry(
        name=f"{kind}_cell",
        array_args=(*states, "weight_ih", "weight_hh", "bias_ih", "bias_hh"),
        outputs=outputs,
        twin=getattr(torch_impl, f"{kind}_cell"),
        samples=cell_samples(kind),
        stricter_than_pytorch={
            "bias_ih without bias_hh": "PyTorch's cell functions take each bias alone; the API's cells, like nn.RNNCell(bias=...), have both or neither",
        },
        features=_cell_features(kind),
        plain_call=_cell_plain(kind),
        error_inputs=_cell_errors(kind),
        tolerances={"float32": FLOAT32_RECURRENT},
        hints={name: CELL_HINTS[kind] for name in ("h_next", "c_next", "dx", "dh", "dc", "dweight_ih", "dweight_hh", "dbias_ih", "dbias_hh")},
    )


def _sequence_entry(kind: str, outputs: tuple[str, ...]) -> OpEntry:
    states = ("h0", "c0") if kind == "lstm" else ("h0",)
    options = ("num_layers", "nonlinearity", "bidirectional") if kind == "rnn" else ("num_layers", "bidirectional")
    return OpEntry(
        name=kind,
        array_args=("x", *states, "params", "lengths"),
        grad_args=("x", *states, "params"),
        signature=("x", *states, "params", *options, "lengths"),
        outputs=outputs,
        twin=getattr(torch_impl, kind),
        samples=sequence_samples(kind, outputs),
        time_axes={"output": 0, "dx": 0},
        layer_axes={"h_n": 0, "c_n": 0, "dh0": 0, "dc0": 0},
        stricter_than_pytorch={
            "params of a 2-layer module for num_layers=1": "the twin runs the layers asked for and ignores other keys (functional_call); "
            "nn.RNN's load_state_dict rejects unexpected keys, as the API does",
            "float lengths": "the twin casts lengths to int64 for pack_padded_sequence; the API's lengths are integers",
        },
        features=_sequence_features(kind, outputs),
        plain_call=_sequence_plain(kind),
        error_inputs=_sequence_errors(kind),
        tolerances={"float32": FLOAT32_RECURRENT},
        hints={
            "output": CELL_HINTS[kind] + " " + LENGTHS_HINT,
            "h_n": LENGTHS_HINT,
            "c_n": LENGTHS_HINT,
            **{name: BPTT_HINT for name in ("dx", "dh0", "dc0", "dparams")},
        },
    )


ENTRIES: tuple[OpEntry, ...] = (
    _cell_entry("rnn", ("h_next",)),
    _cell_entry("lstm", ("h_next", "c_next")),
    _cell_entry("gru", ("h_next",)),
    _sequence_entry("rnn", ("output", "h_n")),
    _sequence_entry("lstm", ("output", "h_n", "c_n")),
    _sequence_entry("gru", ("output", "h_n")),
)
