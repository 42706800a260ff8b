"""The Transformer encoder layer (``nn.TransformerEncoderLayer``, eval mode), forward and
backward, and the exact GELU it may use.

Post-norm (``norm_first=False``, the original Transformer's and PyTorch's default) and
pre-norm differ only in where the two layer norms sit around the residual branches::

    post-norm:  h = norm1(x + self_attn(x));          out = norm2(h + feed_forward(h))
    pre-norm:   h = x + self_attn(norm1(x));          out = h + feed_forward(norm2(h))

    feed_forward(h) = linear2(activation(linear1(h)))

``self_attn`` is multi-head self-attention (query, key and value all the same input) with
``src_key_padding_mask``, without weights; in eval mode the dropouts are the identity. The
backward pass runs the same graph in reverse; each residual connection sends its gradient
down both the branch and the shortcut, and self-attention's input gets the sum of the
query's, key's and value's gradients.

NumPy has no ``erf``, and the GELU PyTorch uses by default is the exact one,
``x * Phi(x) = x / 2 * (1 + erf(x / sqrt(2)))``: ``erf`` below computes it to float64
accuracy (within 5 ulp (6e-16 relative) of ``math.erf`` on a grid of 2e5 points in [-7, 7]).
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from . import _validation as check
from .attention import MultiHeadCache, float_params, multi_head_backward, multi_head_forward, padding_mask
from .dense import LinearCache, linear_backward, linear_forward
from .norm import LayerNormCache, layer_norm_backward, layer_norm_forward

ENCODER_FORWARD = "transformer_encoder_layer_forward"
ACTIVATIONS = ("relu", "gelu")

# ------------------------------------------------------------------------- erf and GELU

# Below it the power series, above it the continued fraction: both converge to float64
# precision there within the terms below.
_SERIES_LIMIT = 2.0
_SERIES_TERMS = 35
_FRACTION_TERMS = 50


def erf(x) -> np.ndarray:
    """The error function, elementwise, in float64.

    For ``|x| < 2`` the series ``erf(x) = 2 / sqrt(pi) * x * exp(-x^2) * sum_n (2 x^2)^n /
    (1 * 3 * ... * (2n + 1))``, whose terms are all positive (no cancellation, unlike the
    alternating Taylor series). Above, ``erf(x) = 1 - erfc(x)`` with Laplace's continued
    fraction ``erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2) / (x + (2/2) / (x + (3/2) / ...)))``,
    evaluated from its tail. The loops run over the terms, not over the elements.
    """
    x = np.asarray(x, dtype=np.float64)
    magnitude = np.abs(x)
    result = np.empty_like(magnitude)

    near = magnitude < _SERIES_LIMIT
    small = magnitude[near]
    square = small * small  # exp and the series share its rounding, which then nearly cancels
    total = np.ones_like(small)
    for n in range(_SERIES_TERMS, 0, -1):  # Horner: 1 + t/3 (1 + t/5 (1 + t/7 (...))), t = 2 x^2
        total = 1 + total * (2 * square) / (2 * n + 1)
    result[near] = 2 / math.sqrt(math.pi) * small * np.exp(-square) * total

    large = np.minimum(magnitude[~near], 30.0)  # erf(30) is 1 to far beyond float64; exp(-900) > 0
    fraction = large.copy()
    for k in range(_FRACTION_TERMS, 0, -1):
        fraction = large + (k / 2) / fraction
    result[~near] = 1 - np.exp(-large * large) / (math.sqrt(math.pi) * fraction)
    return np.copysign(result, x)


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact GELU, ``x * Phi(x)`` (PyTorch's ``approximate='none'``)."""
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def gelu_derivative(x: np.ndarray) -> np.ndarray:
    """``Phi(x) + x * phi(x)``: the normal distribution function plus x times its density."""
    return 0.5 * (1 + erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


# ------------------------------------------------------------------ the encoder layer


class EncoderCache(NamedTuple):
    attention: MultiHeadCache
    norm1: LayerNormCache
    norm2: LayerNormCache
    linear1: LinearCache
    linear2: LinearCache
    hidden: np.ndarray  # linear1's output, the activation's input
    params: dict  # float64
    norm_first: bool
    activation: str
    dtype: np.dtype


def _encoder_params(function: str, params, embed: int, dtype: np.dtype) -> dict[str, np.ndarray]:
    first = params.get("linear1.weight") if isinstance(params, dict) else None
    feedforward = first.shape[0] if isinstance(first, np.ndarray) and first.ndim else 1
    shapes = {
        "self_attn.in_proj_weight": (3 * embed, embed),
        "self_attn.in_proj_bias": (3 * embed,),
        "self_attn.out_proj.weight": (embed, embed),
        "self_attn.out_proj.bias": (embed,),
        "linear1.weight": (feedforward, embed),
        "linear1.bias": (feedforward,),
        "linear2.weight": (embed, feedforward),
        "linear2.bias": (embed,),
        "norm1.weight": (embed,),
        "norm1.bias": (embed,),
        "norm2.weight": (embed,),
        "norm2.bias": (embed,),
    }
    return float_params(function, params, shapes, dtype)


def _layer_norm(x: np.ndarray, params: dict, name: str, eps: float) -> tuple[np.ndarray, LayerNormCache]:
    return layer_norm_forward(x, x.shape[-1:], params[f"{name}.weight"], params[f"{name}.bias"], eps)


def transformer_encoder_layer_forward(x, params, num_heads, norm_first=False, activation="relu", layer_norm_eps=1e-5, src_key_padding_mask=None):
    """``nn.TransformerEncoderLayer(E, num_heads, dim_feedforward, dropout=0.0)`` in eval
    mode with the given ``params`` (its ``state_dict()``; dim_feedforward is
    ``linear1.weight``'s row count). Returns ``(out, cache)``.

    ``x`` is ``(T, N, E)`` (time first). ``activation`` is ``'relu'`` or ``'gelu'`` (the
    exact one); ``src_key_padding_mask`` ``(N, T)`` is True at padded positions (left out
    as keys) or float (added to the scores). A sequence padded everywhere attends to
    nothing: its self-attention output is ``self_attn.out_proj.bias`` (as PyTorch's math
    path gives).
    """
    function = ENCODER_FORWARD
    x = check.float_array(function, "x", x, ndim=3)
    steps, batch, embed = x.shape
    num_heads = check.positive_int(function, "num_heads", num_heads)
    if embed % num_heads:
        raise check.invalid(function, "num_heads", f"must divide the embedding size E = {embed}; got {num_heads}")
    params64 = _encoder_params(function, params, embed, x.dtype)
    norm_first = check.boolean(function, "norm_first", norm_first)
    if not isinstance(activation, str):
        raise TypeError(f"{function}: argument 'activation' must be 'relu' or 'gelu'; got {activation!r}")
    if activation not in ACTIVATIONS:
        raise check.invalid(function, "activation", f"must be 'relu' or 'gelu'; got {activation!r}")
    if not isinstance(layer_norm_eps, numbers.Real) or isinstance(layer_norm_eps, bool):
        raise TypeError(f"{function}: argument 'layer_norm_eps' must be a float; got {layer_norm_eps!r}")
    if not layer_norm_eps > 0:
        raise check.invalid(function, "layer_norm_eps", f"must be positive; got {layer_norm_eps!r}")
    mask = None if src_key_padding_mask is None else padding_mask(function, "src_key_padding_mask", src_key_padding_mask, batch, steps)

    attention_params = {key.removeprefix("self_attn."): value for key, value in params64.items() if key.startswith("self_attn.")}
    source = x.astype(np.float64, copy=False)

    def self_attention(inputs):
        out, _, cache = multi_head_forward(inputs, inputs, inputs, attention_params, num_heads, mask, False)
        return out, cache

    def feed_forward(inputs):
        hidden, first = linear_forward(inputs, params64["linear1.weight"], params64["linear1.bias"])
        activated = np.maximum(hidden, 0) if activation == "relu" else gelu(hidden)
        out, second = linear_forward(activated, params64["linear2.weight"], params64["linear2.bias"])
        return out, first, second, hidden

    if norm_first:
        normed, norm1 = _layer_norm(source, params64, "norm1", layer_norm_eps)
        attended, attention = self_attention(normed)
        middle = source + attended
        normed, norm2 = _layer_norm(middle, params64, "norm2", layer_norm_eps)
        fed, linear1, linear2, hidden = feed_forward(normed)
        out = middle + fed
    else:
        attended, attention = self_attention(source)
        middle, norm1 = _layer_norm(source + attended, params64, "norm1", layer_norm_eps)
        fed, linear1, linear2, hidden = feed_forward(middle)
        out, norm2 = _layer_norm(middle + fed, params64, "norm2", layer_norm_eps)
    cache = EncoderCache(attention, norm1, norm2, linear1, linear2, hidden, params64, norm_first, activation, x.dtype)
    return out.astype(x.dtype), cache


def transformer_encoder_layer_backward(dout, cache: EncoderCache):
    """``(dx, dparams)``, ``dparams`` keyed like ``params``."""
    function = "transformer_encoder_layer_backward"
    dout = check.float_array(function, "dout", dout)
    check.shape_is(function, "dout", dout, cache.attention.query.shape)
    grad = dout.astype(np.float64, copy=False)
    dparams: dict[str, np.ndarray] = {}

    def norm_backward(upstream, name):
        dinput, dparams[f"{name}.weight"], dparams[f"{name}.bias"] = layer_norm_backward(upstream, getattr(cache, name))
        return dinput

    def feed_forward_backward(upstream):
        dactivated, dparams["linear2.weight"], dparams["linear2.bias"] = linear_backward(upstream, cache.linear2)
        slope = (cache.hidden > 0) if cache.activation == "relu" else gelu_derivative(cache.hidden)
        dinput, dparams["linear1.weight"], dparams["linear1.bias"] = linear_backward(dactivated * slope, cache.linear1)
        return dinput

    def attention_backward(upstream):
        dquery, dkey, dvalue, dattention = multi_head_backward(upstream, None, cache.attention)
        dparams.update({f"self_attn.{key}": value for key, value in dattention.items()})
        return dquery + dkey + dvalue

    if cache.norm_first:
        dmiddle = grad + norm_backward(feed_forward_backward(grad), "norm2")
        dx = dmiddle + norm_backward(attention_backward(dmiddle), "norm1")
    else:
        dmiddle = norm_backward(grad, "norm2")
        dmiddle = dmiddle + feed_forward_backward(dmiddle)
        dsum = norm_backward(dmiddle, "norm1")
        dx = dsum + attention_backward(dsum)
    ordered = {key: dparams[key].astype(cache.dtype) for key in cache.params}
    return dx.astype(cache.dtype), ordered
