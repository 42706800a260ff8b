"""The softmax taken over the queries (axis -2) instead of the keys: each key's weights sum
to 1 across the queries. Its backward is right for that forward."""

import numpy as np

import reference
from reference import *  # noqa: F403
from reference.seams import additive_mask, masked_softmax, softmax_backward_rows, sum_to_shape

BUG = {"layer": "scaled_dot_product_attention", "checks": ["forward", "backward"]}


def scaled_dot_product_attention_forward(query, key, value, attn_mask=None, is_causal=False, scale=None):
    _, cache = reference.scaled_dot_product_attention_forward(query, key, value, attn_mask, is_causal, scale)  # checks the call
    scores = cache.query @ np.swapaxes(cache.key, -1, -2) * cache.scale
    if attn_mask is not None:
        scores = scores + additive_mask("scaled_dot_product_attention_forward", "attn_mask", attn_mask, true_means="allowed")
    elif is_causal:
        scores = scores + np.where(np.tri(query.shape[-2], key.shape[-2], dtype=bool), 0.0, -np.inf)
    weights = np.swapaxes(masked_softmax(np.swapaxes(scores, -1, -2))[0], -1, -2)
    out = weights @ cache.value
    return out.astype(query.dtype), cache._replace(weights=weights)


def scaled_dot_product_attention_backward(dout, cache):
    query, key, value, weights, scale = cache.query, cache.key, cache.value, cache.weights, cache.scale
    dweights = dout @ np.swapaxes(value, -1, -2)
    dvalue = np.swapaxes(weights, -1, -2) @ dout
    dscores = np.swapaxes(softmax_backward_rows(np.swapaxes(dweights, -1, -2), np.swapaxes(weights, -1, -2)), -1, -2) * scale
    dquery, dkey = dscores @ key, np.swapaxes(dscores, -1, -2) @ query
    return tuple(sum_to_shape(g, a.shape).astype(cache.dtype) for g, a in zip((dquery, dkey, dvalue), (query, key, value)))
