"""Attention: scaled dot-product attention, multi-head attention and the Transformer encoder
layer: strategies, bad calls and registry entries. (The module is named ``transformer`` so
that the family comes last in the registry, which takes the families in their modules'
alphabetical order: the table and the "not implemented" line keep opening with conv2d.)

Masks are drawn as a pattern of keys that take part, then spelled in the layer's
convention: ``F.scaled_dot_product_attention``'s booleans are True where a key takes part,
``nn.MultiheadAttention``'s (and the encoder's padding mask) True where it is left out; a
float mask is normal values where a key takes part and -inf where not. Every query keeps
at least one key, except where a fully masked row is drawn on purpose: PyTorch answers
zeros there (NaN in ``nn.MultiheadAttention``'s weights and output with
``need_weights=True``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from hypothesis import assume
from hypothesis import strategies as st

import torch_impl

from ..op_entry import EdgeCase, ErrorInput, Feature, OpEntry, Skip, Tolerance, normal_array, values_are
from ..sample import Sample
from ..strategies import SEEDS, edge_or_range, enabled, make_array, moved_off, value_kinds
from .residual import RELU_MARGIN, ReluInputs

MASK_FRACTIONS = st.sampled_from([0.3, 0.6])  # of the keys left out by a mask


def allowed_keys(rng: np.random.Generator, shape: tuple[int, ...], fraction: float, *, keep: np.ndarray | None = None) -> np.ndarray:
    """True where a key takes part (the last axis runs over the keys): each one is left out
    with probability ``fraction``, but every row keeps one key at random (or the keys
    ``keep``, along the last axis, in every row)."""
    allowed = rng.random(shape) >= fraction
    if keep is None:
        kept = rng.integers(0, shape[-1], size=shape[:-1])
        np.put_along_axis(allowed, kept[..., None], True, axis=-1)
    else:
        allowed[..., keep] = True
    return allowed


def mask_out_a_row(rng: np.random.Generator, allowed: np.ndarray) -> np.ndarray:
    """``allowed`` with one row (chosen at random) leaving out every key."""
    rows = allowed.reshape(-1, allowed.shape[-1]).copy()
    rows[rng.integers(0, rows.shape[0])] = False
    return rows.reshape(allowed.shape)


def spelled(rng: np.random.Generator, allowed: np.ndarray, kind: str, *, true_means: str) -> np.ndarray:
    """``allowed`` as a boolean mask (``true_means`` 'allowed' or 'masked') or a float mask
    (normal values where allowed, -inf elsewhere)."""
    if kind == "float":
        return np.where(allowed, rng.standard_normal(allowed.shape), -np.inf)
    return allowed if true_means == "allowed" else ~allowed


# ----------------------------------------------------------- scaled dot-product attention

SDPA_MASKS = ("none", "bool", "float", "causal")
SDPA_MASK_SHAPES = ("(L, S)", "(..., L, S)", "(..., 1, S)")


@st.composite
def sdpa_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    on = enabled(features)
    small = for_gradcheck  # gradcheck perturbs every element of query, key and value
    # Typical: L != S and E != Ev (a scale by sqrt(Ev), or a softmax over the queries, shows).
    typical = draw(st.booleans(), label="typical shape")
    leading_dims = draw(st.integers(0, 2), label="leading dims") if on("any leading dims") else 1
    batch = [draw(edge_or_range(1, 2 if small else 3), label="batch side") for _ in range(leading_dims)]
    length = draw(edge_or_range(1, 3 if small else 5), label="L")
    source = draw(edge_or_range(1, 3 if small else 5), label="S")
    features_qk = draw(st.integers(2, 4) if typical else edge_or_range(1, 4), label="E")
    features_v = draw(edge_or_range(1, 3 if small else 5), label="Ev")
    if typical:
        source = moved_off(source, length)
        features_v = moved_off(features_v, features_qk)
    broadcast = draw(st.one_of(st.none(), st.sampled_from(["query", "key", "value"])), label="broadcast") if on("broadcast leading dims") else None
    offered = {"none": True, "bool": on("attn_mask"), "float": on("attn_mask") and on("float attn_mask"), "causal": on("is_causal")}
    mask_kind = draw(st.sampled_from([kind for kind in SDPA_MASKS if offered[kind]]), label="mask")
    scale = draw(st.one_of(st.none(), st.sampled_from([0.5, 1.0]), st.floats(0.1, 2.0)), label="scale") if on("scale") else None
    seed = draw(SEEDS, label="seed")
    values = draw(value_kinds(for_gradcheck, extra=("large",)), label="values")
    rng = np.random.default_rng(seed)
    shapes = {"query": [*batch, length, features_qk], "key": [*batch, source, features_qk], "value": [*batch, source, features_v]}
    if broadcast is not None and batch:
        shapes[broadcast][rng.integers(0, len(batch))] = 1
    arrays: dict[str, Any] = {name: make_array(rng, tuple(shape), "normal" if values == "large" else values) for name, shape in shapes.items()}
    if values == "large":  # scores q.k / sqrt(E) of order 1e4, where a softmax without its max subtracted overflows
        arrays["query"], arrays["key"] = arrays["query"] * 100, arrays["key"] * 100
    mask = None
    if mask_kind in ("bool", "float"):
        shape = {"(L, S)": (length, source), "(..., L, S)": (*batch, length, source), "(..., 1, S)": (*batch, 1, source)}[
            draw(st.sampled_from(SDPA_MASK_SHAPES), label="mask shape")
        ]
        allowed = allowed_keys(rng, shape, draw(MASK_FRACTIONS, label="masked fraction"))
        if draw(st.booleans(), label="a fully masked row"):
            allowed = mask_out_a_row(rng, allowed)
        mask = spelled(rng, allowed, mask_kind, true_means="allowed")
    arrays["attn_mask"] = mask
    return Sample(arrays, {"is_causal": mask_kind == "causal", "scale": scale}, seed, values)


def _sdpa_plain() -> Sample:
    arrays = {"query": normal_array(2, 3, 4), "key": normal_array(2, 5, 4), "value": normal_array(2, 5, 6), "attn_mask": None}
    return Sample(arrays, {"is_causal": False, "scale": None})


SDPA_FEATURES = (
    Feature("attn_mask", "attn_mask", lambda s: s.changed({"attn_mask": normal_array(3, 5) > 0})),
    Feature("float attn_mask", probe=lambda s: s.changed({"attn_mask": np.where(normal_array(3, 5) > 0, 0.5, -np.inf)})),
    Feature("is_causal", "is_causal", lambda s: s.changed(is_causal=True)),
    Feature("scale", "scale", lambda s: s.changed(scale=0.5)),
    Feature("any leading dims", probe=lambda s: s.changed({"query": normal_array(3, 4), "key": normal_array(5, 4), "value": normal_array(5, 6)})),
    Feature("broadcast leading dims", probe=lambda s: s.changed({"key": normal_array(1, 5, 4)})),
)


def _sdpa_case(shapes, *, mask: str = "none", is_causal: bool = False, values: str = "normal", seed: int = 0, fully_masked: bool = False):
    def make() -> Sample:
        rng = np.random.default_rng(seed)
        arrays = {name: make_array(rng, shape, "normal") for name, shape in zip(("query", "key", "value"), shapes)}
        if values == "large":
            arrays["query"], arrays["key"] = arrays["query"] * 100, arrays["key"] * 100
        attn_mask = None
        if mask != "none":
            length, source = shapes[0][-2], shapes[1][-2]
            allowed = allowed_keys(rng, (length, source), 0.5)
            attn_mask = spelled(rng, mask_out_a_row(rng, allowed) if fully_masked else allowed, mask, true_means="allowed")
        return Sample({**arrays, "attn_mask": attn_mask}, {"is_causal": is_causal, "scale": None}, seed, values)

    return make


SDPA_EDGE_CASES = (
    EdgeCase("E != Ev, L != S, default scale", _sdpa_case(((2, 3, 4), (2, 5, 4), (2, 5, 2)))),
    EdgeCase("causal, L < S", _sdpa_case(((2, 3, 4), (2, 4, 4), (2, 4, 3)), is_causal=True, seed=1), features=("is_causal",)),
    EdgeCase("causal, L > S", _sdpa_case(((5, 3), (3, 3), (3, 2)), is_causal=True, seed=2), features=("is_causal", "any leading dims")),
    EdgeCase(
        "boolean mask with a fully masked row",
        _sdpa_case(((2, 4, 3), (2, 5, 3), (2, 5, 2)), mask="bool", seed=3, fully_masked=True),
        features=("attn_mask",),
    ),
    EdgeCase(
        "float mask with -inf and a fully masked row",
        _sdpa_case(((2, 4, 3), (2, 5, 3), (2, 5, 4)), mask="float", seed=4, fully_masked=True),
        features=("attn_mask", "float attn_mask"),
    ),
    EdgeCase("scores of order 1e4", _sdpa_case(((2, 3, 4), (2, 5, 4), (2, 5, 3)), values="large", seed=5)),
)

SDPA_FLOAT32_SKIPS = (
    Skip(
        "backward", "float32", values_are("large"),
        # Query and key of magnitude 100 (scores of 1e4): the softmax is saturated, dscores
        # is 0 up to float32 rounding (~1e-7), and dquery = dscores @ key multiplies that
        # noise by 100. Measured over 3000 such calls: PyTorch's float32 dquery and dkey up to
        # 3.7e-5 from its float64 ones where the exact value is 0 (the outputs: within 3e-8).
        "float32 gradients of scores of order 1e4 are compared in float64 only: saturated softmax, rounding noise times query and key of 100",
    ),
)

SDPA_HINT = (
    "weights = softmax(query @ key^T * scale + mask) along the keys (the last axis), scale = 1 / sqrt(E) with E the "
    "query's (and key's) features, not the value's; out = weights @ value. A boolean attn_mask is True where a key takes "
    "part (-inf is added elsewhere), a float one is added as it is, before the softmax; is_causal lets query i see keys "
    "0..i (np.tri(L, S), the diagonal included). A query with every key masked gets 0 (PyTorch 2.x)."
)
SDPA_GRADIENT_HINT = (
    "dvalue = weights^T @ dout; dweights = dout @ value^T; dscores = weights * (dweights - sum(dweights * weights, keys)) "
    "* scale; dquery = dscores @ key, dkey = dscores^T @ query, each summed over the axes its argument was broadcast along."
)


def _sdpa_errors() -> tuple[ErrorInput, ...]:
    query, key, value = normal_array(2, 3, 4), normal_array(2, 5, 4), normal_array(2, 5, 6)
    return (
        ErrorInput("1-D query", (normal_array(4), normal_array(4), normal_array(4)), {}, ValueError, "query"),
        ErrorInput("integer-typed query", (np.ones((2, 3, 4), dtype=np.int64), key, value), {}, TypeError, "query"),
        ErrorInput("key of another dtype", (query, key.astype(np.float32), value), {}, TypeError, "key"),
        ErrorInput("key with other features than the query", (query, normal_array(2, 5, 3), value), {}, ValueError, "key"),
        ErrorInput("value with other positions than the key", (query, key, normal_array(2, 4, 6)), {}, ValueError, "value"),
        ErrorInput("leading axes that do not broadcast", (query, normal_array(3, 5, 4), normal_array(3, 5, 6)), {}, ValueError, "key"),
        ErrorInput("attn_mask with is_causal", (query, key, value, np.ones((3, 5), dtype=bool)), {"is_causal": True}, ValueError, "attn_mask"),
        ErrorInput("integer attn_mask", (query, key, value, np.ones((3, 5), dtype=np.int64)), {}, TypeError, "attn_mask"),
        ErrorInput("attn_mask that does not broadcast to (..., L, S)", (query, key, value, np.ones((5, 3), dtype=bool)), {}, ValueError, "attn_mask"),
        ErrorInput("scale as a string", (query, key, value), {"scale": "0.5"}, TypeError, "scale"),
        ErrorInput("is_causal as a string", (query, key, value), {"is_causal": "yes"}, TypeError, "is_causal"),
    )


# ----------------------------------------------------------------- multi-head attention

MHA_SIGNATURE = ("query", "key", "value", "params", "num_heads", "key_padding_mask", "attn_mask", "need_weights")


def make_mha_params(rng: np.random.Generator, embed: int, values: str = "normal") -> dict[str, np.ndarray]:
    """``params`` keyed like ``nn.MultiheadAttention(embed, heads).named_parameters()``;
    weights scaled by 1 / sqrt(embed), as PyTorch's initialisation keeps activations O(1)."""
    scale = 1 / math.sqrt(embed)
    return {
        "in_proj_weight": make_array(rng, (3 * embed, embed), values) * scale,
        "in_proj_bias": make_array(rng, (3 * embed,), values),
        "out_proj.weight": make_array(rng, (embed, embed), values) * scale,
        "out_proj.bias": make_array(rng, (embed,), values),
    }


def excluded_keys(mask, true_means: str) -> np.ndarray | None:
    """Where a mask leaves a key out (None: no mask)."""
    if mask is None:
        return None
    if mask.dtype == np.bool_:
        return ~mask if true_means == "allowed" else mask
    return mask == -np.inf


def mha_nan_rows(sample: Sample) -> bool:
    """Whether, with need_weights, some query of some head has every key masked: PyTorch's
    weights and output are NaN there."""
    if not sample.kwargs["need_weights"]:
        return False
    length, batch, _ = sample.arrays["query"].shape
    source, heads = sample.arrays["key"].shape[0], sample.kwargs["num_heads"]
    excluded = np.zeros((batch, heads, length, source), dtype=bool)
    padding = excluded_keys(sample.arrays["key_padding_mask"], "masked")
    if padding is not None:
        excluded |= padding[:, None, None, :]
    attention = excluded_keys(sample.arrays["attn_mask"], "masked")
    if attention is not None:
        excluded |= attention if attention.ndim == 2 else attention.reshape(batch, heads, length, source)
    return bool(excluded.all(axis=-1).any())


@st.composite
def mha_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    on = enabled(features)
    small = for_gradcheck
    # Typical: several heads, several samples, L > 1 and L != N (a mix-up of heads, samples
    # and positions shows).
    typical = draw(st.booleans(), label="typical shape")
    heads = draw(st.integers(2, 3) if typical else edge_or_range(1, 3), label="num_heads")
    head_dim = draw(edge_or_range(1, 2 if small else 3), label="E / num_heads")
    embed = heads * head_dim
    length = draw(st.integers(2, 3 if small else 4) if typical else edge_or_range(1, 3 if small else 4), label="L")
    batch = draw(st.integers(2, 2 if small else 3) if typical else edge_or_range(1, 2 if small else 3), label="N")
    if typical:
        batch = moved_off(batch, length)
    self_attention = draw(st.booleans(), label="self-attention")  # key and value the query's values
    source = length if self_attention else draw(edge_or_range(1, 3 if small else 5), label="S")
    need_weights = draw(st.booleans(), label="need_weights") if on("need_weights") else False
    kind = draw(st.sampled_from(["bool", "float"]), label="mask kind") if on("float masks") else "bool"
    padded = draw(st.booleans(), label="key_padding_mask") if on("key_padding_mask") else False
    attn_shapes = ["none", "(L, S)", *(["(N * num_heads, L, S)"] if on("3-D attn_mask") else [])]
    attn_shape = draw(st.sampled_from(attn_shapes), label="attn_mask") if on("attn_mask") else "none"
    fraction = draw(MASK_FRACTIONS, label="masked fraction")
    # A fully masked row: NaN with need_weights, which gradcheck cannot differentiate.
    fully_masked = (padded or attn_shape != "none") and not (for_gradcheck and need_weights) and draw(st.booleans(), label="a fully masked row")
    seed = draw(SEEDS, label="seed")
    values = draw(value_kinds(for_gradcheck), label="values")
    rng = np.random.default_rng(seed)
    query = make_array(rng, (length, batch, embed), values)
    key = query.copy() if self_attention else make_array(rng, (source, batch, embed), values)
    value = query.copy() if self_attention else make_array(rng, (source, batch, embed), values)
    # One key per sample kept by both masks, so that their union leaves no query without keys.
    kept = rng.integers(0, source, size=batch)
    padding = allowed_keys(rng, (batch, source), fraction) if padded else None
    if padding is not None:
        padding[np.arange(batch), kept] = True
    attention = None
    if attn_shape != "none":
        attention = allowed_keys(rng, (length, source) if attn_shape == "(L, S)" else (batch * heads, length, source), fraction, keep=kept)
    if fully_masked:
        if padding is not None and (attention is None or rng.random() < 0.5):
            padding[rng.integers(0, batch)] = False  # a sequence that is padding only
        else:
            assert attention is not None  # fully_masked: one of the two masks is drawn
            attention = mask_out_a_row(rng, attention)
    arrays = {
        "query": query,
        "key": key,
        "value": value,
        "params": make_mha_params(rng, embed),
        "key_padding_mask": None if padding is None else spelled(rng, padding, kind, true_means="masked"),
        "attn_mask": None if attention is None else spelled(rng, attention, kind, true_means="masked"),
    }
    return Sample(arrays, {"num_heads": heads, "need_weights": need_weights}, seed, values)


def _mha_case(length, source, batch, heads, head_dim, *, padding: str = "none", attn: str = "none", need_weights: bool = False, seed: int = 0):
    """``padding``/``attn``: 'none', 'bool' or 'float', with a fully masked row where it
    says 'fully masked' (padding: a whole sequence; attn: 3-D, one row of one head)."""

    def make() -> Sample:
        rng = np.random.default_rng(seed)
        embed = heads * head_dim
        query = make_array(rng, (length, batch, embed), "normal")
        key, value = (query.copy(), query.copy()) if source == length else (make_array(rng, (source, batch, embed), "normal") for _ in range(2))
        arrays = {"query": query, "key": key, "value": value, "params": make_mha_params(rng, embed)}
        padding_mask = attn_mask = None
        if padding != "none":
            allowed = allowed_keys(rng, (batch, source), 0.4)
            if "fully masked" in padding:
                allowed[0] = False
            padding_mask = spelled(rng, allowed, padding.split()[0], true_means="masked")
        if attn != "none":
            allowed = allowed_keys(rng, (batch * heads, length, source), 0.4)
            attn_mask = spelled(rng, mask_out_a_row(rng, allowed) if "fully masked" in attn else allowed, attn.split()[0], true_means="masked")
        arrays |= {"key_padding_mask": padding_mask, "attn_mask": attn_mask}
        return Sample(arrays, {"num_heads": heads, "need_weights": need_weights}, seed, "normal")

    return make


MHA_EDGE_CASES = (
    EdgeCase(
        "self-attention, 2 heads, a sequence that is padding only",
        _mha_case(3, 3, 2, 2, 2, padding="bool fully masked"),
        features=("key_padding_mask",),
    ),
    EdgeCase(
        "L != S, 3 heads, float 3-D attn_mask, weights",
        _mha_case(2, 4, 3, 3, 2, attn="float", need_weights=True, seed=1),
        features=("attn_mask", "float masks", "3-D attn_mask", "need_weights"),
    ),
    EdgeCase(
        "self-attention, 2 heads, key_padding_mask and a fully masked row of one head",
        _mha_case(4, 4, 2, 2, 1, padding="bool", attn="bool fully masked", seed=2),
        features=("key_padding_mask", "attn_mask", "3-D attn_mask"),
    ),
)

MHA_SKIPS = (
    Skip(
        "backward", None, mha_nan_rows,
        "with need_weights, a query whose every key is masked has NaN weights and output (as PyTorch's): no gradient to compare",
    ),
    Skip("gradcheck", None, mha_nan_rows, "with need_weights, a query whose every key is masked has NaN weights and output: not differentiable"),
)

MHA_HINT = (
    "Project (x @ W.T + b with in_proj_weight's three E-row blocks: query, key, value), then split E into num_heads heads "
    "of E / num_heads consecutive features: (T, N, E) -> (T, N, H, E/H) -> (N, H, T, E/H), never a plain reshape to "
    "(N, H, T, E/H), which mixes positions and heads. Each head: softmax(q k^T / sqrt(E/H) + mask) v. Masks: True = left "
    "out (the opposite of F.scaled_dot_product_attention's); key_padding_mask (N, S) masks keys, per sample, for every "
    "head and query; attn_mask row n * num_heads + h is sample n's head h. Heads side by side, then out_proj with its bias."
)
WEIGHTS_HINT = "weights is the softmax averaged over the heads (mean, not sum), (N, L, S); None without need_weights."


def _mha_errors() -> tuple[ErrorInput, ...]:
    rng = np.random.default_rng(0)
    params = make_mha_params(rng, 4)
    query, key = normal_array(3, 2, 4), normal_array(5, 2, 4)

    def call(query=query, key=key, value=key, params=params, num_heads=2, **kwargs) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (query, key, value, params, num_heads), kwargs

    return (
        ErrorInput("2-D query", *call(query=normal_array(3, 4)), ValueError, "query"),
        ErrorInput("integer-typed query", *call(query=np.ones((3, 2, 4), dtype=np.int64)), TypeError, "query"),
        ErrorInput("key with another batch size", *call(key=normal_array(5, 3, 4), value=normal_array(5, 3, 4)), ValueError, "key"),
        ErrorInput("value with other positions than the key", *call(value=normal_array(4, 2, 4)), ValueError, "value"),
        ErrorInput("num_heads that does not divide E", *call(num_heads=3), ValueError, "num_heads"),
        ErrorInput("params as a list", *call(params=list(params.values())), TypeError, "params"),
        ErrorInput("params missing out_proj.bias", *call(params={k: v for k, v in params.items() if k != "out_proj.bias"}), ValueError, "params"),
        ErrorInput("in_proj_weight of the wrong shape", *call(params={**params, "in_proj_weight": normal_array(8, 4)}), ValueError, "params"),
        ErrorInput("key_padding_mask of the wrong shape", *call(key_padding_mask=np.zeros((2, 3), dtype=bool)), ValueError, "key_padding_mask"),
        ErrorInput("integer key_padding_mask", *call(key_padding_mask=np.zeros((2, 5), dtype=np.int64)), TypeError, "key_padding_mask"),
        ErrorInput("attn_mask of the wrong shape", *call(attn_mask=np.zeros((5, 3), dtype=bool)), ValueError, "attn_mask"),
        ErrorInput("need_weights as a string", *call(need_weights="yes"), TypeError, "need_weights"),
    )


def _mha_plain() -> Sample:
    arrays = {"query": normal_array(3, 2, 4), "key": normal_array(5, 2, 4), "value": normal_array(5, 2, 4), "params": make_mha_params(np.random.default_rng(0), 4)}
    return Sample({**arrays, "key_padding_mask": None, "attn_mask": None}, {"num_heads": 2, "need_weights": False})


MHA_FEATURES = (
    Feature("key_padding_mask", "key_padding_mask", lambda s: s.changed({"key_padding_mask": np.array([[False] * 4 + [True], [False] * 5])})),
    Feature("attn_mask", "attn_mask", lambda s: s.changed({"attn_mask": np.triu(np.ones((3, 5), dtype=bool), 1)})),
    Feature("need_weights", "need_weights", lambda s: s.changed(need_weights=True)),
    Feature("float masks", probe=lambda s: s.changed({"key_padding_mask": np.where(normal_array(2, 5) > 1, -np.inf, 0.5)})),
    Feature("3-D attn_mask", probe=lambda s: s.changed({"attn_mask": normal_array(4, 3, 5) > 1})),
)


# ------------------------------------------------------------- Transformer encoder layer

ENCODER_SIGNATURE = ("x", "params", "num_heads", "norm_first", "activation", "layer_norm_eps", "src_key_padding_mask")


def make_encoder_params(rng: np.random.Generator, embed: int, feedforward: int, values: str = "normal") -> dict[str, np.ndarray]:
    """``params`` keyed like ``nn.TransformerEncoderLayer(embed, heads, feedforward).state_dict()``;
    weights scaled by 1 / sqrt(fan in), layer-norm weights around 1."""
    attention = make_mha_params(rng, embed, values)
    return {
        **{f"self_attn.{key}": value for key, value in attention.items()},
        "linear1.weight": make_array(rng, (feedforward, embed), values) / math.sqrt(embed),
        "linear1.bias": make_array(rng, (feedforward,), values),
        "linear2.weight": make_array(rng, (embed, feedforward), values) / math.sqrt(feedforward),
        "linear2.bias": make_array(rng, (embed,), values),
        "norm1.weight": 1 + 0.5 * make_array(rng, (embed,), values),
        "norm1.bias": make_array(rng, (embed,), values),
        "norm2.weight": 1 + 0.5 * make_array(rng, (embed,), values),
        "norm2.bias": make_array(rng, (embed,), values),
    }


@st.composite
def encoder_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    on = enabled(features)
    small = for_gradcheck  # gradcheck perturbs each of the ~100-300 parameters
    # Typical: E of 4 and more, where float32 layer norms are well conditioned. E of 2 at
    # least: layer norm over one feature outputs its bias, whatever its input.
    typical = draw(st.booleans(), label="typical shape")
    embed = draw(st.integers(4, 4 if small else 6) if typical else edge_or_range(2, 4), label="E")
    heads = draw(st.sampled_from([h for h in (1, 2, 3) if embed % h == 0]), label="num_heads")
    feedforward = draw(edge_or_range(1, 3 if small else 6), label="dim_feedforward")
    steps = draw(edge_or_range(1, 3 if small else 4), label="T")
    batch = draw(edge_or_range(1, 2 if small else 3), label="N")
    norm_first = draw(st.booleans(), label="norm_first") if on("norm_first") else False
    # gradcheck keeps to GELU: finite differences across ReLU's kink are meaningless.
    activation = "gelu" if for_gradcheck and on("gelu") else draw(st.sampled_from(["relu", "gelu"]), label="activation") if on("gelu") else "relu"
    eps = draw(st.sampled_from([1e-5, 1e-3]), label="layer_norm_eps")
    padding = draw(st.sampled_from(["none", "bool", "float"]), label="src_key_padding_mask") if on("src_key_padding_mask") else "none"
    padding = "bool" if padding == "float" and not on("float padding mask") else padding
    fully_padded = padding != "none" and draw(st.booleans(), label="a sequence that is padding only")
    seed = draw(SEEDS, label="seed")
    values = draw(value_kinds(for_gradcheck), label="values")
    rng = np.random.default_rng(seed)
    arrays = {"x": make_array(rng, (steps, batch, embed), values), "params": make_encoder_params(rng, embed, feedforward)}
    mask = None
    if padding != "none":
        allowed = allowed_keys(rng, (batch, steps), draw(MASK_FRACTIONS, label="padded fraction"))
        mask = spelled(rng, mask_out_a_row(rng, allowed) if fully_padded else allowed, padding, true_means="masked")
    arrays["src_key_padding_mask"] = mask
    kwargs = {"num_heads": heads, "norm_first": norm_first, "activation": activation, "layer_norm_eps": eps}
    sample = Sample(arrays, kwargs, seed, values)
    if for_gradcheck and activation == "relu":  # an implementation without GELU: ReLU inputs kept off the kink
        assume(min(np.abs(seen).min() for seen in relu_inputs(sample)) > RELU_MARGIN)
    return sample


def relu_inputs(sample: Sample) -> list[np.ndarray]:
    """What the twin's ReLU receives (float64) for an encoder-layer sample."""
    arrays = [None if a is None else {k: torch.tensor(v) for k, v in a.items()} if isinstance(a, dict) else torch.tensor(a) for a in sample.arrays.values()]
    with torch.no_grad(), ReluInputs() as recorder:
        torch_impl.transformer_encoder_layer(*sample.call_args(ENCODER_SIGNATURE, arrays))
    return recorder.seen


def _encoder_case(steps, batch, heads, head_dim, feedforward, *, norm_first: bool, activation: str, padding: str = "none", seed: int = 0):
    def make() -> Sample:
        rng = np.random.default_rng(seed)
        embed = heads * head_dim
        arrays = {"x": make_array(rng, (steps, batch, embed), "normal"), "params": make_encoder_params(rng, embed, feedforward)}
        mask = None
        if padding != "none":
            allowed = allowed_keys(rng, (batch, steps), 0.4)
            if "fully" in padding:
                allowed[-1] = False
            mask = spelled(rng, allowed, padding.split()[0], true_means="masked")
        arrays["src_key_padding_mask"] = mask
        kwargs = {"num_heads": heads, "norm_first": norm_first, "activation": activation, "layer_norm_eps": 1e-5}
        return Sample(arrays, kwargs, seed, "normal")

    return make


ENCODER_EDGE_CASES = (
    EdgeCase("post-norm, ReLU, 2 heads", _encoder_case(4, 2, 2, 2, 5, norm_first=False, activation="relu")),
    EdgeCase("pre-norm, GELU, 2 heads", _encoder_case(3, 3, 2, 3, 4, norm_first=True, activation="gelu", seed=1), features=("norm_first", "gelu")),
    EdgeCase(
        "post-norm, GELU, a sequence that is padding only",
        _encoder_case(3, 2, 1, 4, 3, norm_first=False, activation="gelu", padding="bool fully", seed=2),
        features=("gelu", "src_key_padding_mask"),
    ),
)

ENCODER_HINT = (
    "Post-norm (norm_first=False): h = norm1(x + self_attn(x)), out = norm2(h + ff(h)); pre-norm: h = x + "
    "self_attn(norm1(x)), out = h + ff(norm2(h)); ff(h) = linear2(activation(linear1(h))). GELU is the exact "
    "x * Phi(x) = x / 2 * (1 + erf(x / sqrt(2))), not the tanh approximation. src_key_padding_mask is True at padding."
)
ENCODER_GRADIENT_HINT = (
    "Each residual connection sends its gradient down the branch and the shortcut; self-attention's input gets the sum "
    "of the query's, key's and value's gradients (they are the same array)."
)


def _encoder_errors() -> tuple[ErrorInput, ...]:
    params = make_encoder_params(np.random.default_rng(0), 4, 6)
    x = normal_array(3, 2, 4)
    return (
        ErrorInput("2-D input", (normal_array(3, 4), params, 2), {}, ValueError, "x"),
        ErrorInput("integer-typed input", (np.ones((3, 2, 4), dtype=np.int64), params, 2), {}, TypeError, "x"),
        ErrorInput("num_heads that does not divide E", (x, params, 3), {}, ValueError, "num_heads"),
        ErrorInput("params missing norm2.bias", (x, {k: v for k, v in params.items() if k != "norm2.bias"}, 2), {}, ValueError, "params"),
        ErrorInput("params with an unknown key", (x, {**params, "norm3.weight": np.ones(4)}, 2), {}, ValueError, "params"),
        ErrorInput("linear2.weight of the wrong shape", (x, {**params, "linear2.weight": normal_array(4, 5)}, 2), {}, ValueError, "params"),
        ErrorInput("float32 params for a float64 input", (x, {k: v.astype(np.float32) for k, v in params.items()}, 2), {}, TypeError, "params"),
        ErrorInput("unknown activation", (x, params, 2), {"activation": "tanh"}, ValueError, "activation"),
        ErrorInput("src_key_padding_mask of the wrong shape", (x, params, 2), {"src_key_padding_mask": np.zeros((3, 2), dtype=bool)}, ValueError, "src_key_padding_mask"),
    )


def _encoder_plain() -> Sample:
    return _encoder_case(3, 2, 2, 2, 5, norm_first=False, activation="relu")()


ENCODER_FEATURES = (
    Feature("norm_first", "norm_first", lambda s: s.changed(norm_first=True)),
    Feature("gelu", "activation", lambda s: s.changed(activation="gelu")),
    Feature("src_key_padding_mask", "src_key_padding_mask", lambda s: s.changed({"src_key_padding_mask": np.array([[False, False, True], [False] * 3])})),
    Feature("float padding mask", probe=lambda s: s.changed({"src_key_padding_mask": np.array([[0.0, 0.5, -np.inf], [0.0] * 3])})),
)


# ---------------------------------------------------------------------- float32 tolerances

# float32: measured over 5000 drawn calls each, the reference's float32 results (exact,
# then rounded) against PyTorch's. scaled_dot_product_attention needs atol 2.4e-6 at the
# default rtol: the defaults hold. The two below are PyTorch's own float32 rounding: its
# float32 results are as far from its float64 ones.

# 2.6e-5 needed (at rtol 1.3e-6) in dparams, in_proj_weight and in_proj_bias the worst (E = 2).
FLOAT32_MHA = Tolerance(
    1e-5, 1e-4, "the in-projection's gradients sum over every position and sample: PyTorch's float32 ones are up to 2.8e-5 from its float64 ones",
)
# 1.7e-5 needed (dparams, E = 4 to 6; dx 6.7e-6, out 1.1e-5).
FLOAT32_ENCODER = Tolerance(
    1e-4, 1e-4, "two layer norms over 4 to 6 features and the attention in between: PyTorch's float32 gradients are up to 1.7e-5 from its float64 ones",
)
# Layer norm over 2 features outputs +-1 (times weight, plus bias) whatever x, and its
# gradient divides by |x1 - x2|: PyTorch's float32 dparams were 0.04 off its float64 ones
# (E = 2), and 2.6e-4 with 3 features.
ENCODER_FLOAT32_SKIPS = (
    Skip(None, "float32", lambda sample: sample.arrays["x"].shape[-1] < 4, "layer norms over fewer than 4 features (E < 4) are compared in float64 only"),
)

ENTRIES: tuple[OpEntry, ...] = (
    OpEntry(
        name="scaled_dot_product_attention",
        array_args=("query", "key", "value", "attn_mask"),
        grad_args=("query", "key", "value"),
        signature=("query", "key", "value", "attn_mask", "is_causal", "scale"),
        twin=torch_impl.scaled_dot_product_attention,
        samples=sdpa_samples,
        features=SDPA_FEATURES,
        plain_call=_sdpa_plain,
        edge_cases=SDPA_EDGE_CASES,
        error_inputs=_sdpa_errors(),
        skips=SDPA_FLOAT32_SKIPS,
        hints={"out": SDPA_HINT, **dict.fromkeys(("dquery", "dkey", "dvalue"), SDPA_GRADIENT_HINT)},
    ),
    OpEntry(
        name="multi_head_attention",
        array_args=("query", "key", "value", "params", "key_padding_mask", "attn_mask"),
        grad_args=("query", "key", "value", "params"),
        signature=MHA_SIGNATURE,
        outputs=("out", "weights"),
        twin=torch_impl.multi_head_attention,
        samples=mha_samples,
        features=MHA_FEATURES,
        plain_call=_mha_plain,
        edge_cases=MHA_EDGE_CASES,
        error_inputs=_mha_errors(),
        skips=MHA_SKIPS,
        tolerances={"float32": FLOAT32_MHA},
        stricter_than_pytorch={"need_weights as a string": "F.multi_head_attention_forward takes any truthy value; the API's need_weights is a bool"},
        hints={"out": MHA_HINT, "weights": WEIGHTS_HINT, **dict.fromkeys(("dquery", "dkey", "dvalue", "dparams"), MHA_HINT)},
    ),
    OpEntry(
        name="transformer_encoder_layer",
        array_args=("x", "params", "src_key_padding_mask"),
        grad_args=("x", "params"),
        signature=ENCODER_SIGNATURE,
        twin=torch_impl.transformer_encoder_layer,
        samples=encoder_samples,
        features=ENCODER_FEATURES,
        plain_call=_encoder_plain,
        edge_cases=ENCODER_EDGE_CASES,
        error_inputs=_encoder_errors(),
        tolerances={"float32": FLOAT32_ENCODER},
        skips=ENCODER_FLOAT32_SKIPS,
        stricter_than_pytorch={"2-D input": "nn.TransformerEncoderLayer also takes one unbatched sequence (T, E); the API's x is (T, N, E)"},
        hints={"out": ENCODER_HINT, "dx": ENCODER_GRADIENT_HINT, "dparams": ENCODER_GRADIENT_HINT},
    ),
)
