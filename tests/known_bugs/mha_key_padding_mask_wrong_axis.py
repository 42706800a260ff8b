"""The key padding mask expanded along the wrong axis: its (N, S) rows stacked for the
(N * num_heads) rows of the scores with np.tile(mask, (num_heads, 1)), which repeats the
whole batch once per head (row h * N + n), where row n * num_heads + h is sample n's head h
(PyTorch's layout, np.repeat's order). Sample n's heads then read other samples' padding;
one head, or one sample, hides it."""

import numpy as np

import reference
from reference import *  # noqa: F403
from reference.seams import additive_mask

BUG = {"layer": "multi_head_attention", "checks": ["forward", "backward"]}
FORWARD = "multi_head_attention_forward"


def multi_head_attention_forward(query, key, value, params, num_heads, key_padding_mask=None, attn_mask=None, need_weights=False):
    if key_padding_mask is not None:
        (length, batch, _), source = query.shape, key.shape[0]
        padding = additive_mask(FORWARD, "key_padding_mask", key_padding_mask, true_means="masked")
        rows = np.tile(padding, (num_heads, 1))  # (num_heads * N, S): the batch repeated, not each sample
        combined = np.broadcast_to(rows[:, None, :], (batch * num_heads, length, source))
        if attn_mask is not None:
            combined = combined + additive_mask(FORWARD, "attn_mask", attn_mask, true_means="masked")
        key_padding_mask, attn_mask = None, combined
    return reference.multi_head_attention_forward(query, key, value, params, num_heads, key_padding_mask, attn_mask, need_weights)


multi_head_attention_backward = reference.multi_head_attention_backward
