"""Neural style transfer's two losses-to-be: the Gram matrix of feature maps (style) and
the total variation of an image (smoothness). Content and style losses are ``mse_loss``
over features and over Gram matrices."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validation as check


class GramCache(NamedTuple):
    flat: np.ndarray  # (N, C, H*W)
    shape: tuple[int, ...]
    scale: float  # 1 / (C * H * W)


def gram_matrix_forward(features):
    """``gram[n] = F F^T / (C * H * W)`` with ``F = features[n]`` flattened to (C, H*W).
    Returns ``(gram, cache)``, gram of shape (N, C, C)."""
    features = check.float_array("gram_matrix_forward", "features", features, ndim=4)
    batch, channels, height, width = features.shape
    flat = features.reshape(batch, channels, height * width).copy()
    scale = 1.0 / (channels * height * width)
    gram = flat @ flat.transpose(0, 2, 1) * flat.dtype.type(scale)
    return gram, GramCache(flat, features.shape, scale)


def gram_matrix_backward(dgram, cache: GramCache):
    """``dF = (dG + dG^T) F / (C * H * W)``: F appears on both sides of the product."""
    dgram = check.float_array("gram_matrix_backward", "dgram", dgram, ndim=3)
    flat, shape, scale = cache
    dflat = (dgram + dgram.transpose(0, 2, 1)) @ flat * flat.dtype.type(scale)
    return dflat.reshape(shape)


class TotalVariationCache(NamedTuple):
    vertical_sign: np.ndarray  # sign of img[..., 1:, :] - img[..., :-1, :]
    horizontal_sign: np.ndarray  # sign of img[..., :, 1:] - img[..., :, :-1]
    shape: tuple[int, ...]


def total_variation_forward(img):
    """Sum of absolute differences between vertical and horizontal neighbours, over every
    image and channel (the last two axes are height and width). Returns ``(loss, cache)``."""
    img = check.float_array("total_variation_forward", "img", img)
    if img.ndim < 2:
        raise check.invalid("total_variation_forward", "img", f"must have height and width as its last two axes; got shape {img.shape}")
    vertical = img[..., 1:, :] - img[..., :-1, :]
    horizontal = img[..., :, 1:] - img[..., :, :-1]
    loss = np.abs(vertical).sum() + np.abs(horizontal).sum()
    return np.asarray(loss, dtype=img.dtype), TotalVariationCache(np.sign(vertical), np.sign(horizontal), img.shape)


def total_variation_backward(dloss, cache: TotalVariationCache):
    """Each difference passes ``sign(difference) * dloss`` to its two pixels, with opposite
    signs (at a zero difference the sign, and so the gradient, is 0, as in PyTorch)."""
    vertical_sign, horizontal_sign, shape = cache
    upstream = np.asarray(dloss, dtype=vertical_sign.dtype)
    dimg = np.zeros(shape, dtype=vertical_sign.dtype)
    dimg[..., 1:, :] += vertical_sign * upstream
    dimg[..., :-1, :] -= vertical_sign * upstream
    dimg[..., :, 1:] += horizontal_sign * upstream
    dimg[..., :, :-1] -= horizontal_sign * upstream
    return dimg
