"""rnn_layers.py: the RNN and LSTM steps and sequences, the word embedding, the temporal
affine layer and the captioning's masked softmax loss. Batch-first sequences x (N, T, D),
weights Wx (D, gH) and Wh (H, gH) with one bias b, and the LSTM's gates in the course's
order i, f, o, g: the twins convert to PyTorch's (transposed weights, b as b_ih with a zero
b_hh, gate blocks reordered to i, f, g, o)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import strategies as st
from torch.func import functional_call

from ...op_entry import OpEntry
from ...sample import Sample
from ...strategies import make_array
from .. import Binding
from .common import (
    RNN_LAYERS,
    adapted_pair,
    as_written,
    binding,
    corner,
    course_layout_entry,
    draw_data,
    draw_sizes,
    forward_only_loss,
    learner_pair,
    shaped,
    unclashed,
    with_gradient,
)
from .layers import affine_adapter

# ---------------------------------------------------------------- rnn and lstm


def recurrent_samples(kind: str, *, sequence: bool):
    """``x`` (N, D) for a step, (N, T, D) for a sequence (T from 1), the previous hidden (and,
    for an LSTM step, cell) state (N, H), ``Wx`` (D, gH), ``Wh`` (H, gH), ``b`` (gH,) with g
    gates (4 for the LSTM). Typical: T > 1 and N, T, D, H all different."""
    gates = 4 if kind == "lstm" else 1

    @st.composite
    def samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
        small = for_gradcheck  # gradcheck perturbs every weight: keep them few
        typical = draw(st.booleans(), label="typical shape")
        labels = ("T", "N", "D", "H") if sequence else ("N", "D", "H")
        sizes = dict(zip(labels, draw_sizes(draw, labels, 3 if small else 4, typical, low=2 if typical else 1)))
        sizes.setdefault("T", 1)
        batch, inputs, hidden = sizes["N"], sizes["D"], sizes["H"]
        seed, values, rng = draw_data(draw, for_gradcheck)
        arrays = {"x": make_array(rng, (batch, sizes["T"], inputs) if sequence else (batch, inputs), values)}
        arrays["h0" if sequence else "prev_h"] = make_array(rng, (batch, hidden), values)
        if kind == "lstm" and not sequence:
            arrays["prev_c"] = make_array(rng, (batch, hidden), values)
        arrays |= {
            "Wx": make_array(rng, (inputs, gates * hidden), values),
            "Wh": make_array(rng, (hidden, gates * hidden), values),
            "b": make_array(rng, (gates * hidden,), values),
        }
        return Sample(arrays, {}, seed, values)

    return samples


def pytorch_gates(weights):
    """The column blocks of CS231n's i, f, o, g in PyTorch's order i, f, g, o."""
    i, f, o, g = weights.chunk(4, dim=-1)
    return torch.cat([i, f, g, o], dim=-1)


def rnn_step_twin(x, prev_h, Wx, Wh, b):
    return torch.rnn_tanh_cell(x, prev_h, Wx.T, Wh.T, b, None)


def lstm_step_twin(x, prev_h, prev_c, Wx, Wh, b):
    return torch.lstm_cell(x, (prev_h, prev_c), pytorch_gates(Wx).T, pytorch_gates(Wh).T, pytorch_gates(b), None)


def sequence_twin(module_type, x, h0, w_ih, w_hh, bias):
    """``torch.nn.RNN``/``LSTM`` (batch first) run with the course's weights: one layer,
    ``b`` as ``bias_ih`` and a zero ``bias_hh``, the LSTM's cell state starting at 0."""
    module = module_type(x.shape[2], h0.shape[1], batch_first=True, device=x.device, dtype=x.dtype)
    params = {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh, "bias_ih_l0": bias, "bias_hh_l0": torch.zeros_like(bias)}
    state = h0.unsqueeze(0) if module_type is torch.nn.RNN else (h0.unsqueeze(0), torch.zeros_like(h0).unsqueeze(0))
    output, _ = functional_call(module, params, (x, state))
    return output


def rnn_twin(x, h0, Wx, Wh, b):
    return sequence_twin(torch.nn.RNN, x, h0, Wx.T, Wh.T, b)


def lstm_twin(x, h0, Wx, Wh, b):
    return sequence_twin(torch.nn.LSTM, x, h0, pytorch_gates(Wx).T, pytorch_gates(Wh).T, pytorch_gates(b))


TWINS = {("rnn", False): rnn_step_twin, ("lstm", False): lstm_step_twin, ("rnn", True): rnn_twin, ("lstm", True): lstm_twin}
RNN_STEP_HINT = "next_h = tanh(x @ Wx + prev_h @ Wh + b); its derivative is 1 - next_h ** 2 (the saved output)."
LSTM_GATES_HINT = (
    "CS231n's gates are i, f, o, g: a = x @ Wx + prev_h @ Wh + b split into a[:, :H] (input), a[:, H:2H] (forget), "
    "a[:, 2H:3H] (output), sigmoid of each, and a[:, 3H:] (g, tanh); PyTorch's order is i, f, g, o. "
    "next_c = f * prev_c + i * g, next_h = o * tanh(next_c)."
)
BPTT_HINT = (
    "Backpropagation through time: the gradient reaching h[:, t] is dh[:, t] (from the loss at t) plus dprev_h from "
    "step t + 1, walking t from T - 1 down to 0; parameter gradients add up over the steps"
)
LSTM_BPTT_HINT = BPTT_HINT + "; the cell state's gradient dprev_c carries back too, starting at 0 (c0 = 0)."


def recurrent_entry(kind: str, *, sequence: bool) -> OpEntry:
    gates = 4 if kind == "lstm" else 1
    states = ("h0",) if sequence else (("prev_h", "prev_c") if kind == "lstm" else ("prev_h",))
    outputs = ("h",) if sequence else (("next_h", "next_c") if kind == "lstm" else ("next_h",))
    cell_hint = LSTM_GATES_HINT if kind == "lstm" else RNN_STEP_HINT
    through_time = LSTM_BPTT_HINT if kind == "lstm" else BPTT_HINT + "."
    hints = {name: cell_hint for name in (*outputs, "dWx", "dWh", "db")}
    hints |= {name: (through_time if sequence else cell_hint) for name in ("dx", "dh0", "dprev_h", "dprev_c")}
    return course_layout_entry(
        unclashed(kind if sequence else f"{kind}_step"),
        array_args=("x", *states, "Wx", "Wh", "b"),
        outputs=outputs,
        twin=TWINS[kind, sequence],
        samples=recurrent_samples(kind, sequence=sequence),
        time_axes={"h": 1, "dx": 1} if sequence else {},
        edge_cases=(corner("T = 1, N = 1", {"x": (1, 1, 3), "h0": (1, 2), "Wx": (3, 2 * gates), "Wh": (2, 2 * gates), "b": (2 * gates,)}),) if sequence else (),
        hints=hints,
    )


def recurrent_left_out(kind: str, *, sequence: bool) -> dict[str, str]:
    function = f"{kind}_forward" if sequence else f"{kind}_step_forward"
    left_out: dict[str, str] = {}
    if sequence:
        left_out |= {
            "several layers": f"{function} runs one layer",
            "bidirectional": f"{function} runs forward in time only",
            "lengths": f"{function} takes sequences of one length T",
            "h0=None": f"{function} takes h0" + (" (and starts the cell state at 0)" if kind == "lstm" else ""),
        }
    left_out["no bias"] = f"{function} always adds b"
    if kind == "rnn":
        left_out["relu"] = f"{function} uses tanh"
    return left_out


RNN_NOTE = (
    "rnn_step_*, rnn_*: batch first, x (N, D) or (N, T, D), h (N, T, H); Wx (D, H) and Wh (H, H) are the transposes of "
    "PyTorch's weight_ih and weight_hh, and the one bias b is PyTorch's b_ih + b_hh"
)
LSTM_NOTE = (
    "lstm_step_*, lstm_*: gates in the order i, f, o, g (PyTorch's: i, f, g, o), so the twin reorders the column blocks of "
    "Wx (D, 4H), Wh (H, 4H) and b (4H,); one bias b; lstm_forward starts from c0 = 0 and returns h only"
)


def recurrent_binding(kind: str, *, sequence: bool) -> Binding:
    forward, backward = (f"{kind}_forward", f"{kind}_backward") if sequence else (f"{kind}_step_forward", f"{kind}_step_backward")
    return binding(
        recurrent_entry(kind, sequence=sequence), forward, backward, as_written(forward, backward), group=RNN_LAYERS,
        left_out=recurrent_left_out(kind, sequence=sequence), conventions=(RNN_NOTE if kind == "rnn" else LSTM_NOTE,),
    )


# ------------------------------------------------------- embedding, affine, loss


@st.composite
def word_embedding_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    """Integer words ``x`` (N, T) in [0, V) and ``W`` (V, D): few rows, many lookups, so
    that repeated words add up their gradients."""
    typical = draw(st.booleans(), label="typical shape")
    batch, steps, vocabulary, dim = draw_sizes(draw, ("N", "T", "V", "D"), 4, typical)
    seed, values, rng = draw_data(draw, for_gradcheck)
    return Sample({"x": rng.integers(0, vocabulary, size=(batch, steps)), "W": make_array(rng, (vocabulary, dim), values)}, {}, seed, values)


def word_embedding(module):
    learner_forward, learner_backward = learner_pair(module, "word_embedding_forward", "word_embedding_backward")

    def forward(x, W):
        out, cache = learner_forward(x, W)
        return out, (cache, W.shape)

    def backward(dout, cache):
        course_cache, w_shape = cache
        return shaped("word_embedding_backward", "dW", learner_backward(dout, course_cache), w_shape, hint="dW has W's shape (V, D)")

    return adapted_pair(forward, backward, learner_backward)


@st.composite
def temporal_affine_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    typical = draw(st.booleans(), label="typical shape")
    batch, steps, inputs, out = draw_sizes(draw, ("N", "T", "D", "M"), 3 if for_gradcheck else 4, typical)
    seed, values, rng = draw_data(draw, for_gradcheck)
    arrays = {"x": make_array(rng, (batch, steps, inputs), values), "w": make_array(rng, (inputs, out), values), "b": make_array(rng, (out,), values)}
    return Sample(arrays, {}, seed, values)


@st.composite
def temporal_softmax_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    """Scores ``x`` (N, T, V), words ``y`` (N, T) and a boolean ``mask`` (N, T): all steps,
    none, or some (the captions' <NULL> padding)."""
    typical = draw(st.booleans(), label="typical shape")
    batch, steps, vocabulary = draw_sizes(draw, ("N", "T", "V"), 5, typical)
    spread = draw(st.sampled_from(["some", "some", "all", "none"]), label="mask")
    seed, values, rng = draw_data(draw, for_gradcheck, extra=("large",))
    mask = {"all": np.ones((batch, steps), dtype=bool), "none": np.zeros((batch, steps), dtype=bool), "some": rng.random((batch, steps)) < 0.6}[spread]
    arrays = {"x": make_array(rng, (batch, steps, vocabulary), values), "y": rng.integers(0, vocabulary, size=(batch, steps)), "mask": mask}
    return Sample(arrays, {}, seed, values)


def temporal_softmax_twin(x, y, mask):
    batch, steps, vocabulary = x.shape

    def loss_of(scores):
        losses = F.cross_entropy(scores.reshape(-1, vocabulary), y.reshape(-1).long(), reduction="none")
        return (losses * mask.reshape(-1).to(scores.dtype)).sum() / batch

    return with_gradient(loss_of, x)


def sequence_entries() -> tuple[OpEntry, OpEntry, OpEntry]:
    word_embedding_entry = course_layout_entry(
        "word_embedding", array_args=("x", "W"), grad_args=("W",), twin=lambda x, W: F.embedding(x.long(), W),
        samples=word_embedding_samples, time_axes={"out": 1},
        hints={"dW": "Repeated words add up: np.add.at(dW, x, dout) (dW[x] += dout keeps only one of them)."},
    )
    temporal_affine = course_layout_entry(
        "temporal_affine", array_args=("x", "w", "b"), twin=lambda x, w, b: F.linear(x, w.T, b), samples=temporal_affine_samples,
        time_axes={"out": 1, "dx": 1},
        hints={
            "out": "out[n, t] = x[n, t] @ w + b at every time step.",
            "dw": "dw sums x[n, t].T @ dout[n, t] over the batch and time.",
            "db": "db = dout.sum(axis=(0, 1)): over the batch and time.",
        },
    )
    temporal_softmax_loss = course_layout_entry(
        "temporal_softmax_loss", array_args=("x", "y", "mask"), grad_args=("x",), outputs=("loss", "dx"), has_backward=False,
        twin=temporal_softmax_twin, samples=temporal_softmax_samples, time_axes={"dx": 1},
        hints={
            "loss": "The cross-entropy of the unmasked steps, summed, and divided by N (the number of captions), not by the number "
            "of unmasked steps.",
            "dx": "dx = mask[:, :, None] * (softmax(x) - onehot(y)) / N.",
        },
    )
    return word_embedding_entry, temporal_affine, temporal_softmax_loss


# ----------------------------------------------------------------------- bindings


def bindings() -> tuple[Binding, ...]:
    word_embedding_entry, temporal_affine, temporal_softmax_loss = sequence_entries()
    return (
        *(recurrent_binding(kind, sequence=sequence) for kind in ("rnn", "lstm") for sequence in (False, True)),
        binding(
            word_embedding_entry, "word_embedding_forward", "word_embedding_backward", word_embedding, group=RNN_LAYERS,
            left_out={"padding_idx": "word_embedding_forward has no padding index (the captioning loss masks <NULL> instead)"},
            conventions=("word_embedding_forward/backward: x (N, T) of integer words, W (V, D); the backward returns dW alone",),
        ),
        binding(
            temporal_affine, "temporal_affine_forward", "temporal_affine_backward",
            affine_adapter("temporal_affine", flattens=False, db_sums="dout.sum(axis=(0, 1))"), group=RNN_LAYERS,
            left_out={"bias=None": "temporal_affine_forward always adds b"}, conventions=("temporal_affine_forward/backward: x (N, T, D), w (D, M), b (M,)",),
        ),
        binding(
            temporal_softmax_loss, "temporal_softmax_loss", None, forward_only_loss("temporal_softmax_loss"), group=RNN_LAYERS,
            left_out={"reduction": "temporal_softmax_loss divides the sum by N", "ignore_index": "temporal_softmax_loss leaves steps out through mask"},
            conventions=(
                "temporal_softmax_loss: forward-only, returns (loss, dx); the masked cross-entropy summed over the steps and divided by N, "
                "not by the number of unmasked steps",
            ),
        ),
    )
