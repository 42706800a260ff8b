"""Course 5, week 4 (Transformers): ``scaled_dot_product_attention(q, k, v, mask)``.

The course writes it in TensorFlow; a learner's NumPy version (or TensorFlow's, whose
tensors convert with ``np.asarray``) is checked forward, as the course's tests do: the
output and the attention weights, against PyTorch computing the course's formula,
``softmax(q k^T / sqrt(d_k) + (1 - mask) * -1e9) v``. The mask is the course's: 1 keeps
a key, 0 masks it (the revised assignment's convention, which most copies have; its
first 2021 release added ``mask * -1e9``, 1 masking); shapes broadcastable to
``(..., seq_len_q, seq_len_k)``: the padding mask ``(batch, 1, seq_len_k)``, the
look-ahead mask ``(1, seq_len, seq_len)``.
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import torch
from hypothesis import strategies as st

from ...sample import Sample
from ...strategies import SEEDS, edge_or_range, make_array, value_kinds
from .. import Binding
from .common import checked, course_call, own_layout_entry, unpack

COURSE_5_WEEK_4 = "course 5, week 4"
FUNCTION = "scaled_dot_product_attention"
HINT = (
    "matmul_qk = q @ k^T (k transposed on its last two axes); divide by np.sqrt(dk) with dk = k.shape[-1] (the keys' depth); "
    "add (1. - mask) * -1e9 where a mask is given (1 keeps a key); softmax over the last axis (the keys); output = weights @ v."
)
CONVENTIONS = (
    "scaled_dot_product_attention: q (..., seq_len_q, depth), k (..., seq_len_k, depth), v (..., seq_len_k, depth_v); the mask "
    "is the course's, 1 keeps a key and 0 masks it, added as (1 - mask) * -1e9 (the first 2021 release added mask * -1e9); "
    "checked forward, output and attention_weights, as the course's tests do",
)


@st.composite
def _samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    # The course's q is (batch, seq_len_q, depth), or (batch, heads, ...): one or two leading axes.
    leading = tuple(draw(st.lists(edge_or_range(1, 3), min_size=1, max_size=2), label="leading dims"))
    queries, keys = draw(edge_or_range(1, 5), label="seq_len_q"), draw(edge_or_range(1, 5), label="seq_len_k")
    depth, depth_v = draw(edge_or_range(1, 4), label="depth"), draw(edge_or_range(1, 4), label="depth_v")
    kind = draw(st.sampled_from(["none", "padding", "look-ahead", "full"]), label="mask")
    seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
    rng = np.random.default_rng(seed)
    arrays = {
        "q": make_array(rng, (*leading, queries, depth), values),
        "k": make_array(rng, (*leading, keys, depth), values),
        "v": make_array(rng, (*leading, keys, depth_v), values),
        "mask": None,
    }
    if kind == "padding":  # (batch, 1, seq_len_k): one row for every query
        arrays["mask"] = (rng.random((*leading, 1, keys)) < 0.7).astype(np.float64)
    elif kind == "look-ahead":  # (1, seq_len_q, seq_len_k): key j for queries i >= j
        arrays["mask"] = np.tril(np.ones((queries, keys)))[None]
    elif kind == "full":
        arrays["mask"] = (rng.random((*leading, queries, keys)) < 0.7).astype(np.float64)
    return Sample(arrays, {}, seed, values)


def _twin(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None):
    logits = q @ k.transpose(-1, -2) / math.sqrt(k.shape[-1])
    if mask is not None:
        logits = logits + (1.0 - mask) * -1e9
    weights = torch.softmax(logits, dim=-1)
    return weights @ v, weights


def _attention(module: ModuleType):
    attention = getattr(module, FUNCTION)

    def forward(q, k, v, mask=None):
        with course_call():
            result = attention(q, k, v, mask)
        output, weights = unpack(FUNCTION, result, ("output", "attention_weights"))
        logits_shape = np.broadcast_shapes(q.shape[:-1] + (k.shape[-2],), () if mask is None else np.shape(mask))
        output = checked(FUNCTION, "output", np.asarray(output), logits_shape[:-1] + (v.shape[-1],))
        return output, checked(FUNCTION, "attention_weights", np.asarray(weights), logits_shape), None

    return forward, None


def bindings() -> tuple[Binding, ...]:
    return (
        Binding(
            own_layout_entry(
                title=FUNCTION,
                name="scaled_dot_product_attention_dls", array_args=("q", "k", "v", "mask"), outputs=("output", "attention_weights"),
                twin=_twin, samples=_samples, has_backward=False, hints={"output": HINT, "attention_weights": HINT},
            ),
            FUNCTION, None, _attention, conventions=CONVENTIONS, converts_layout=False, group=COURSE_5_WEEK_4,
        ),
    )
