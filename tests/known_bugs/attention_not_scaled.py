"""Scaled dot-product attention without its scale: softmax(q @ k^T + mask), the default
1 / sqrt(E) and any given scale ignored. Right when E = 1 only."""

import reference
from reference import *  # noqa: F403

BUG = {"layer": "scaled_dot_product_attention", "checks": ["forward", "backward"]}


def scaled_dot_product_attention_forward(query, key, value, attn_mask=None, is_causal=False, scale=None):
    return reference.scaled_dot_product_attention_forward(query, key, value, attn_mask, is_causal, 1.0)


scaled_dot_product_attention_backward = reference.scaled_dot_product_attention_backward
