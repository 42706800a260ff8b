"""The Transformer encoder layer with pre-norm and post-norm swapped: norm_first=False runs
the layer norms before each branch (pre-norm), norm_first=True after each residual sum."""

import reference
from reference import *  # noqa: F403

BUG = {"layer": "transformer_encoder_layer", "checks": ["forward", "backward"]}


def transformer_encoder_layer_forward(x, params, num_heads, norm_first=False, activation="relu", layer_norm_eps=1e-5, src_key_padding_mask=None):
    return reference.transformer_encoder_layer_forward(x, params, num_heads, not norm_first, activation, layer_norm_eps, src_key_padding_mask)


transformer_encoder_layer_backward = reference.transformer_encoder_layer_backward
