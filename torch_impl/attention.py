"""PyTorch twins of the reference attention layers: ``F.scaled_dot_product_attention``,
``F.multi_head_attention_forward`` (what ``nn.MultiheadAttention`` runs) and
``nn.TransformerEncoderLayer`` with a given ``params`` dict."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call


def scaled_dot_product_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, attn_mask: torch.Tensor | None = None, is_causal: bool = False, scale: float | None = None
) -> torch.Tensor:
    return F.scaled_dot_product_attention(query, key, value, attn_mask=attn_mask, dropout_p=0.0, is_causal=is_causal, scale=scale)


def multi_head_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    params: dict[str, torch.Tensor],
    num_heads: int,
    key_padding_mask: torch.Tensor | None = None,
    attn_mask: torch.Tensor | None = None,
    need_weights: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(out, weights)`` of ``nn.MultiheadAttention(E, num_heads)`` (time first, no
    dropout) with ``params`` as its parameters: the function its forward calls, without
    the module's fast path (inference only, batch-first only)."""
    return F.multi_head_attention_forward(
        query, key, value, query.shape[-1], num_heads,
        params["in_proj_weight"], params["in_proj_bias"], None, None, False, 0.0,
        params["out_proj.weight"], params["out_proj.bias"],
        training=False, key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask, average_attn_weights=True,
    )  # fmt: skip


def transformer_encoder_layer(
    x: torch.Tensor,
    params: dict[str, torch.Tensor],
    num_heads: int,
    norm_first: bool = False,
    activation: str = "relu",
    layer_norm_eps: float = 1e-5,
    src_key_padding_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """``nn.TransformerEncoderLayer`` (time first, dropout 0, eval mode) run with ``params``
    (its state_dict: the shapes say E and dim_feedforward). Time first, the module never
    takes its fast path (``torch._transformer_encoder_layer_fwd``, batch-first only): this
    is its math path, the one training uses."""
    embed, feedforward = x.shape[-1], params["linear1.weight"].shape[0]
    layer = nn.TransformerEncoderLayer(
        embed, num_heads, feedforward, dropout=0.0, activation=activation, layer_norm_eps=layer_norm_eps,
        norm_first=norm_first, device=x.device, dtype=x.dtype,
    )  # fmt: skip
    layer.eval()
    return functional_call(layer, dict(params), (x,), {"src_key_padding_mask": src_key_padding_mask}, strict=True)
