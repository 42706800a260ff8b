"""Scaled dot-product attention scaled by 1 / sqrt(Ev), the value's features, instead of
1 / sqrt(E), the query's and key's. Tutorials' examples often have E == Ev, where the two
agree; the gradients are right for the (wrong) forward."""

import math

import reference
from reference import *  # noqa: F403

BUG = {"layer": "scaled_dot_product_attention", "checks": ["forward", "backward"]}


def scaled_dot_product_attention_forward(query, key, value, attn_mask=None, is_causal=False, scale=None):
    if scale is None:
        scale = 1 / math.sqrt(value.shape[-1])
    return reference.scaled_dot_product_attention_forward(query, key, value, attn_mask, is_causal, scale)


scaled_dot_product_attention_backward = reference.scaled_dot_product_attention_backward
