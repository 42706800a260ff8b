"""The encoder layer's GELU as the tanh approximation, 0.5 x (1 + tanh(sqrt(2 / pi) (x +
0.044715 x^3))), instead of the exact x Phi(x) that activation='gelu' means in PyTorch
(F.gelu's approximate='none'). They differ by up to 5e-4: a float64 check sees it."""

import math

import numpy as np

import reference
from reference import *  # noqa: F403
from reference.seams import gelu_swapped

BUG = {"layer": "transformer_encoder_layer", "checks": ["forward", "backward"]}
C = math.sqrt(2 / math.pi)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(C * (x + 0.044715 * x**3)))


def gelu_tanh_derivative(x):
    t = np.tanh(C * (x + 0.044715 * x**3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C * (1 + 3 * 0.044715 * x * x)


def _approximated():
    return gelu_swapped(gelu_tanh, gelu_tanh_derivative)


def transformer_encoder_layer_forward(x, params, num_heads, norm_first=False, activation="relu", layer_norm_eps=1e-5, src_key_padding_mask=None):
    with _approximated():
        return reference.transformer_encoder_layer_forward(x, params, num_heads, norm_first, activation, layer_norm_eps, src_key_padding_mask)


def transformer_encoder_layer_backward(dout, cache):
    with _approximated():
        return reference.transformer_encoder_layer_backward(dout, cache)
