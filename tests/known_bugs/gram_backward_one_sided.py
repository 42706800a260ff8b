"""gram_matrix_backward as dG @ F / n: F appears on both sides of F @ F.T, and with a
non-symmetric upstream gradient the dG.T @ F half is missing."""

from reference import *  # noqa: F403

BUG = {"layer": "gram_matrix", "checks": ["backward", "gradcheck"]}


def gram_matrix_backward(dgram, cache):
    flat, shape, scale = cache
    return (2 * dgram @ flat * flat.dtype.type(scale)).reshape(shape)
