"""Multi-head attention splitting the heads with a plain reshape: the projected (L, N, E)
made (N, L, E), then reshaped to (N, H, L, E / H) without moving the head axis before the
positions, so that each "head" mixes several positions' features. Merging undoes it the
same way, and the backward follows: right for the (wrong) forward. One head hides it."""

import reference
from reference import *  # noqa: F403
from reference.seams import attention_heads_swapped

BUG = {"layer": "multi_head_attention", "checks": ["forward", "backward"]}


def split_interleaved(x, num_heads):
    steps, batch, features = x.shape
    return x.transpose(1, 0, 2).reshape(batch, num_heads, steps, features // num_heads)


def merge_interleaved(x):
    batch, heads, steps, head_dim = x.shape
    return x.reshape(batch, steps, heads * head_dim).transpose(1, 0, 2)


def _interleaved():
    return attention_heads_swapped(split_interleaved, merge_interleaved)


def multi_head_attention_forward(query, key, value, params, num_heads, key_padding_mask=None, attn_mask=None, need_weights=False):
    with _interleaved():
        return reference.multi_head_attention_forward(query, key, value, params, num_heads, key_padding_mask, attn_mask, need_weights)


def multi_head_attention_backward(dout, dweights, cache):
    with _interleaved():
        return reference.multi_head_attention_backward(dout, dweights, cache)
