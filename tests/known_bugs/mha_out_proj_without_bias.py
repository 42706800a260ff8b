"""Multi-head attention's output projection without its bias (out_proj.bias never added,
and so given no gradient)."""

import numpy as np

import reference
from reference import *  # noqa: F403

BUG = {"layer": "multi_head_attention", "checks": ["forward", "backward"]}


def multi_head_attention_forward(query, key, value, params, num_heads, key_padding_mask=None, attn_mask=None, need_weights=False):
    out, weights, cache = reference.multi_head_attention_forward(query, key, value, params, num_heads, key_padding_mask, attn_mask, need_weights)
    return out - params["out_proj.bias"], weights, cache


def multi_head_attention_backward(dout, dweights, cache):
    *grads, dparams = reference.multi_head_attention_backward(dout, dweights, cache)
    return (*grads, {**dparams, "out_proj.bias": np.zeros_like(dparams["out_proj.bias"])})
