"""The causal mask without its diagonal: query i sees keys 0..i-1 (np.tri(L, S, k=-1)), not
0..i. The first query then sees no key at all, and gets zeros."""

import numpy as np

import reference
from reference import *  # noqa: F403

BUG = {"layer": "scaled_dot_product_attention", "checks": ["forward", "backward"]}


def scaled_dot_product_attention_forward(query, key, value, attn_mask=None, is_causal=False, scale=None):
    if is_causal and attn_mask is None:
        attn_mask, is_causal = np.tri(query.shape[-2], key.shape[-2], k=-1, dtype=bool), False
    return reference.scaled_dot_product_attention_forward(query, key, value, attn_mask, is_causal, scale)


scaled_dot_product_attention_backward = reference.scaled_dot_product_attention_backward
