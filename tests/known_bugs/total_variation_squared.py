"""Total variation with squared differences (the smooth "L2" variant some style-transfer
code uses) where the SPEC, like PyTorch's twin, sums absolute differences."""

import numpy as np

import reference
from reference import *  # noqa: F403
from reference.seams import TotalVariationCache

BUG = {"layer": "total_variation", "checks": ["forward", "backward"]}


def total_variation_forward(img):
    reference.total_variation_forward(img)  # the reference's argument checks
    vertical = img[..., 1:, :] - img[..., :-1, :]
    horizontal = img[..., :, 1:] - img[..., :, :-1]
    loss = np.asarray((vertical**2).sum() + (horizontal**2).sum(), dtype=img.dtype)
    return loss, TotalVariationCache(2 * vertical, 2 * horizontal, img.shape)
