"""conv2d's output size rounded up, ceil((H + 2p - span) / s) + 1, instead of down: an
extra, partial window at the bottom/right whenever the stride does not divide evenly."""

import reference
from reference import *  # noqa: F403
from reference import seams

BUG = {"layer": "conv2d", "checks": ["forward"]}


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    out, cache = reference.conv2d_forward(x, weight, bias, stride, padding, dilation, groups)
    top, bottom, left, right = cache.padding
    spans = [cache.dilation[a] * (weight.shape[2 + a] - 1) + 1 for a in (0, 1)]
    extra = [(-(cache.x_padded.shape[1 + a] - spans[a])) % cache.stride[a] for a in (0, 1)]
    pads = (top, bottom + extra[0], left, right + extra[1])
    x_padded = seams.pad_channels_last(x, pads)
    out = seams.correlate(x_padded, weight, cache.stride, cache.dilation, cache.groups)
    if bias is not None:
        out += bias[:, None, None]
    return out, cache._replace(x_padded=x_padded, padding=pads, columns=None)
