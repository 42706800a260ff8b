"""The Gram matrix normalised by H * W only (some tutorials' choice), where the SPEC and
Gatys et al.'s style loss, as PyTorch's tutorial writes it, use C * H * W."""

import reference
from reference import *  # noqa: F403

BUG = {"layer": "gram_matrix", "checks": ["forward", "backward"]}


def gram_matrix_forward(features):
    gram, cache = reference.gram_matrix_forward(features)
    channels = features.shape[1]
    return gram * channels, cache._replace(scale=cache.scale * channels)
