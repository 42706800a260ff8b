"""group_norm pooling a group's channels but not its spatial positions: one mean and
variance per sample, group and pixel (``x.reshape(N, G, C // G, H, W)`` reduced over axis 2
only), the mistake of a layer norm over channels carried over to images. Right on inputs
without spatial axes, wrong on images.

Built on the public layer_norm pair, which standardises the last axis of what it is
given (a single value to 0); the per-channel weight and bias are applied here."""

import numpy as np

from reference import *  # noqa: F403
from tests.known_bugs._group_norm_bugs import group_norm_over

BUG = {"layer": "group_norm", "checks": ["forward", "backward"]}


def _group_channels_last(x, num_groups):
    """(N, G, pixels, C // G): the last axis holds one group's channels at one pixel."""
    batch, channels = x.shape[:2]
    return np.moveaxis(x.reshape(batch, num_groups, channels // num_groups, -1), 2, -1)


group_norm_forward, group_norm_backward = group_norm_over(_group_channels_last, lambda rows, shape: np.moveaxis(rows, -1, 2).reshape(shape))
