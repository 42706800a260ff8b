"""group_norm with one mean and variance per channel (over the spatial axes only), as
instance norm or a spatial batch norm per sample would compute them: the channels of a
group are never pooled, so it is right only when num_groups == C. On inputs without
spatial axes every channel holds one value and normalises to 0.

Built on the public layer_norm pair, which standardises the last axis of what it is
given (a single value to 0); the per-channel weight and bias are applied here."""

from reference import *  # noqa: F403
from tests.known_bugs._group_norm_bugs import group_norm_over

BUG = {"layer": "group_norm", "checks": ["forward", "backward"]}

group_norm_forward, group_norm_backward = group_norm_over(
    lambda x, num_groups: x.reshape(x.shape[0], x.shape[1], -1),  # one row per sample and channel
    lambda rows, shape: rows.reshape(shape),
)
