"""Assignment 3's ``transformer_layers.py``: the ``MultiHeadAttention`` module, checked
against ``nn.MultiheadAttention``'s own function from the same weights.

The learner's class is PyTorch: ``MultiHeadAttention(embed_dim, num_heads, dropout)``
with ``nn.Linear`` submodules ``key``, ``query``, ``value`` and ``proj``, and
``forward(query, key, value, attn_mask=None)`` batch first, (N, S, E) and (N, T, E);
``attn_mask`` (S, T) keeps a key where it is 1 and masks it where it is 0
(``masked_fill(attn_mask == 0, -inf)``). The adapter builds the learner's module (float64,
eval mode: its attention dropout off), loads the drawn weights into it, runs it, and takes
the gradients from its own autograd. The twin is ``F.multi_head_attention_forward`` (what
``nn.MultiheadAttention`` runs) with ``in_proj_weight`` the query, key and value weights
stacked, time first, and torch's boolean mask, which is True where a key is *masked*.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from ...op_entry import OpEntry
from ...sample import Sample
from ...strategies import SEEDS, edge_or_range, make_array, value_kinds
from ..adapting import FLOAT64_ONLY, returned
from .common import binding

TRANSFORMER_LAYERS = "transformer_layers.py"
CLASS = "MultiHeadAttention"
LINEARS = ("query", "key", "value", "proj")  # the submodules every year's template names
LOADED = {f"{name}.{part}" for name in LINEARS for part in ("weight", "bias")}
HINT = (
    "query, key and value through their own nn.Linear, each split into num_heads heads of E / num_heads features "
    "((N, S, E) -> (N, H, S, E/H)); scores = q @ k^T / sqrt(E / num_heads); masked_fill(attn_mask == 0, -inf); softmax "
    "over the keys (the last axis); dropout; weights @ v, the heads merged back to (N, S, E); then proj."
)
CONVENTIONS = (
    "MultiHeadAttention: batch first, query (N, S, E) and key/value (N, T, E); attn_mask (S, T) keeps a key where it is 1 "
    "(torch's boolean attn_mask masks where True); built with dropout 0 in eval mode, its weights loaded from the draw, its "
    "gradients taken by its own autograd and compared with nn.MultiheadAttention's from the same weights (in_proj_weight "
    "= the query, key and value weights stacked); rows with every key masked are not drawn (the course's -inf gives NaN there)",
)


@st.composite
def _samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    heads = draw(edge_or_range(1, 3), label="num_heads")
    embed = heads * draw(edge_or_range(1, 3), label="head dim")
    batch = draw(edge_or_range(1, 3), label="N")
    queries, keys = draw(edge_or_range(1, 5), label="S"), draw(edge_or_range(1, 5), label="T")
    kind = draw(st.sampled_from(["none", "causal", "random"]), label="attn_mask")
    seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
    rng = np.random.default_rng(seed)
    scale = 1 / np.sqrt(embed)
    params = {f"{name}.weight": rng.uniform(-scale, scale, (embed, embed)) for name in LINEARS}
    params |= {f"{name}.bias": rng.uniform(-scale, scale, embed) for name in LINEARS}
    mask = None
    if kind == "causal":  # the captioning model's: query i sees keys 0..i
        mask = np.tril(np.ones((queries, keys)))
    elif kind == "random":  # every row keeps its first key, so none is fully masked
        mask = (rng.random((queries, keys)) < 0.6).astype(np.float64)
        mask[:, 0] = 1
    arrays = {
        "query": make_array(rng, (batch, queries, embed), values),
        "key": make_array(rng, (batch, keys, embed), values),
        "value": make_array(rng, (batch, keys, embed), values),
        "params": params,
        "attn_mask": mask,
    }
    return Sample(arrays, {"num_heads": heads}, seed, values)


def _twin(query, key, value, params, num_heads, attn_mask=None):
    """nn.MultiheadAttention's function, batch first in and out, from the course's weights."""
    in_proj_weight = torch.cat([params[f"{name}.weight"] for name in ("query", "key", "value")])
    in_proj_bias = torch.cat([params[f"{name}.bias"] for name in ("query", "key", "value")])
    masked = None if attn_mask is None else attn_mask == 0
    out, _ = F.multi_head_attention_forward(
        query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1), query.shape[-1], num_heads,
        in_proj_weight, in_proj_bias, None, None, False, 0.0, params["proj.weight"], params["proj.bias"],
        training=False, need_weights=False, attn_mask=masked,
    )  # fmt: skip
    return out.transpose(0, 1)


def _tensor(array: np.ndarray) -> torch.Tensor:
    """A tensor of its own: the drawn arrays come in every memory layout (negative strides too)."""
    return torch.from_numpy(np.array(array, order="C"))


def _attention(module: ModuleType):
    learner_class = getattr(module, CLASS)

    def forward(query, key, value, params, num_heads, attn_mask=None):
        layer = learner_class(query.shape[-1], num_heads, 0.0).double().eval()
        own = dict(layer.named_parameters())
        missing = [name for name in params if name not in own]
        if missing:
            raise AssertionError(f"{CLASS} has no parameters {', '.join(missing)}: its linear layers are key, query, value and proj (nn.Linear(E, E))")
        with torch.no_grad():
            for name, array in params.items():
                own[name].copy_(_tensor(array))
        tensors = [_tensor(array).requires_grad_() for array in (query, key, value)]
        mask = None if attn_mask is None else _tensor(attn_mask)
        out = layer(*tensors, attn_mask=mask)
        output = returned(f"{CLASS}.forward", "output", out.detach().numpy() if isinstance(out, torch.Tensor) else out, shape=query.shape)
        return output, (layer, tensors, out)

    def backward(dout, cache):
        layer, tensors, out = cache
        layer.zero_grad()
        out.backward(_tensor(dout))
        grads = [None if t.grad is None else t.grad.numpy() for t in tensors]
        dparams = {name: p.grad.numpy() if p.grad is not None else np.zeros(tuple(p.shape)) for name, p in layer.named_parameters() if name in LOADED}
        return (*[np.zeros_like(t.detach().numpy()) if g is None else g for g, t in zip(grads, tensors)], dparams)

    return forward, backward


def bindings():
    entry = OpEntry(
        name="multi_head_attention_cs231n",
        array_args=("query", "key", "value", "params", "attn_mask"),
        grad_args=("query", "key", "value", "params"),
        signature=("query", "key", "value", "params", "num_heads", "attn_mask"),
        twin=_twin,
        samples=_samples,
        outputs=("output",),
        skips=(FLOAT64_ONLY,),
        hints={"output": HINT, "dquery": HINT, "dkey": HINT, "dvalue": HINT, "dparams": HINT},
        title=CLASS,
    )
    return (
        binding(
            entry, f"{CLASS}.forward", f"{CLASS} (autograd)", _attention, conventions=CONVENTIONS, requires=(CLASS,), group=TRANSFORMER_LAYERS, autograd=True,
        ),
    )
