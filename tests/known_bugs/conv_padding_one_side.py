"""conv2d padding all of it on the top/left side (2p there, none at the bottom/right):
the output has the right shape but is shifted."""

import reference
from reference import *  # noqa: F403
from reference import seams

BUG = {"layer": "conv2d", "checks": ["forward", "backward"]}


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    out, cache = reference.conv2d_forward(x, weight, bias, stride, padding, dilation, groups)
    top, bottom, left, right = cache.padding
    one_sided = (top + bottom, 0, left + right, 0)
    x_padded = seams.pad_channels_last(x, one_sided)
    out = seams.correlate(x_padded, weight, cache.stride, cache.dilation, cache.groups)
    if bias is not None:
        out += bias[:, None, None]
    return out, cache._replace(x_padded=x_padded, padding=one_sided, columns=None)
