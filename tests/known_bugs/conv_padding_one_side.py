"""conv2d padding all of it on the top/left side (2p there, none at the bottom/right):
the output has the right shape but is shifted."""

from reference import *  # noqa: F403
from reference import conv

BUG = {"layer": "conv2d", "checks": ["forward", "backward"]}


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    out, cache = conv.conv2d_forward(x, weight, bias, stride, padding, dilation, groups)
    top, bottom, left, right = cache.padding
    one_sided = (top + bottom, 0, left + right, 0)
    x_padded = conv.pad_channels_last(x, one_sided)
    out = conv.correlate(x_padded, weight, cache.stride, cache.dilation, cache.groups)
    if bias is not None:
        out += bias[:, None, None]
    return out, cache._replace(x_padded=x_padded, padding=one_sided, columns=None)
