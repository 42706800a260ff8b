"""Total variation with squared differences (the smooth "L2" variant some style-transfer
code uses) where the SPEC, like PyTorch's twin, sums absolute differences."""

import numpy as np

from reference import *  # noqa: F403
from reference import style

BUG = {"layer": "total_variation", "checks": ["forward", "backward"]}


def total_variation_forward(img):
    style.total_variation_forward(img)  # the reference's argument checks
    vertical = img[..., 1:, :] - img[..., :-1, :]
    horizontal = img[..., :, 1:] - img[..., :, :-1]
    loss = np.asarray((vertical**2).sum() + (horizontal**2).sum(), dtype=img.dtype)
    return loss, style.TotalVariationCache(2 * vertical, 2 * horizontal, img.shape)
