"""The mask applied after the softmax: the weights of the unmasked scores multiplied by
exp(mask) (0 where a boolean mask leaves a key out), without normalising them again, so
that a row's weights no longer sum to 1. Its backward is right for that forward."""

import numpy as np

import reference
from reference import *  # noqa: F403
from reference.seams import additive_mask, softmax_backward_rows, sum_to_shape

BUG = {"layer": "scaled_dot_product_attention", "checks": ["forward", "backward"]}


def scaled_dot_product_attention_forward(query, key, value, attn_mask=None, is_causal=False, scale=None):
    _, cache = reference.scaled_dot_product_attention_forward(query, key, value, None, False, scale)  # unmasked weights
    length, source = query.shape[-2], key.shape[-2]
    if attn_mask is not None:
        keep = np.exp(additive_mask("scaled_dot_product_attention_forward", "attn_mask", attn_mask, true_means="allowed"))
    else:
        keep = np.tri(length, source) if is_causal else np.ones((length, source))
    weights = cache.weights * keep
    out = weights @ cache.value
    return out.astype(query.dtype), (cache, keep, weights)


def scaled_dot_product_attention_backward(dout, cache):
    (inner, keep, weights) = cache
    dweights = dout @ np.swapaxes(inner.value, -1, -2)
    dvalue = np.swapaxes(weights, -1, -2) @ dout
    dscores = softmax_backward_rows(dweights * keep, inner.weights) * inner.scale
    dquery, dkey = dscores @ inner.key, np.swapaxes(dscores, -1, -2) @ inner.query
    shapes = (inner.query.shape, inner.key.shape, inner.value.shape)
    return tuple(sum_to_shape(grad, shape).astype(inner.dtype) for grad, shape in zip((dquery, dkey, dvalue), shapes))
