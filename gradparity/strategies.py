"""Hypothesis strategies that draw valid layer calls: shapes and hyperparameters together.

Data is not drawn element by element (slow, and shrinks poorly); a strategy draws a seed
and a kind of values and makes the arrays with NumPy (``make_array``):

- ``'normal'``: standard normal;
- ``'integers'``: small integers stored as floats: tied maxima in max-pool windows, ReLU
  inputs exactly at 0, sums that are exact; ``'ties'``: only -1, 0 and 1, ties everywhere;
- ``'large'``: normal times 1e4, for the numerically delicate layers (softmax, sigmoid,
  the losses): no overflow, no RuntimeWarning, still exact;
- ``'near_constant'``: a constant per array plus 1e-4 noise (normalisation layers);
- ``'distinct'``: well separated values away from 0, for gradcheck across kinks.

Edge cases are drawn on purpose with ``edge_or_range``: the smallest legal size (kernel
as large as the padded input, output size 1), 1x1 kernels, batch 1, strides larger than
the kernel, depthwise groups.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st

SEEDS = st.integers(0, 2**32 - 1)


def edge_or_range(low: int, high: int) -> st.SearchStrategy[int]:
    """``low`` a third of the time, else anything in ``[low, high]``."""
    return st.one_of(st.just(low), st.integers(low, high))


def make_array(rng: np.random.Generator, shape, values: str) -> np.ndarray:
    if values == "integers":
        return rng.integers(-3, 4, size=shape).astype(np.float64)
    if values == "ties":
        return rng.integers(-1, 2, size=shape).astype(np.float64)
    if values == "distinct":
        # No two values within 1e-2 of each other and none within 5e-3 of 0, so finite
        # differences (eps 1e-6) never cross a max-pool tie or the kink of ReLU.
        return rng.permutation(int(np.prod(shape))).reshape(shape) * 1e-2 - 1.005
    if values == "large":
        return rng.standard_normal(shape) * 1e4
    if values == "near_constant":
        return rng.uniform(-1, 1) + 1e-4 * rng.standard_normal(shape)
    if values != "normal":
        raise ValueError(f"unknown kind of values {values!r}")
    return rng.standard_normal(shape)


def pairs(element: st.SearchStrategy[int], *, allowed: bool = True) -> st.SearchStrategy[int | tuple[int, int]]:
    """An int, or an (h, w) pair: both spellings PyTorch takes (an int only if not ``allowed``)."""
    return st.one_of(element, st.tuples(element, element)) if allowed else element


def as_pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def value_kinds(for_gradcheck: bool, *, has_kinks: bool = False, extra: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """The kinds of values to draw; gradcheck needs smooth data (``has_kinks``: a max or a
    ReLU whose derivative jumps, so values are kept apart)."""
    if for_gradcheck:
        return st.just("distinct" if has_kinks else "normal")
    return st.sampled_from(["normal", "integers", *extra])


def shapes(*, min_dims: int = 1, max_dims: int = 4, max_side: int = 5) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(edge_or_range(1, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


def enabled(features: frozenset[str] | None) -> Callable[[str], bool]:
    """``on(name)``: whether the optional feature ``name`` may be drawn (``features`` None:
    every feature, the full API). A strategy draws exactly as without features when all
    are on, so derandomized profiles keep their examples."""
    return lambda name: features is None or name in features


def spatial_sides(draw, lowest: tuple[int, int], extra: int, *, typical: bool) -> list[int]:
    """(H, W) from their smallest legal values ``lowest``: at that edge or anywhere up to
    ``extra`` more; ``typical``: above the edge and unequal, where a layer that swaps H and
    W (or confuses a window's rows with its columns) shows its mistake."""
    if not typical:
        return [draw(edge_or_range(lowest[a], lowest[a] + extra), label=("H", "W")[a]) for a in (0, 1)]
    height = draw(st.integers(lowest[0] + 1, lowest[0] + extra), label="H")
    width = draw(st.integers(lowest[1] + 1, lowest[1] + extra).filter(lambda side: side != height), label="W")
    return [height, width]


def moved_off(size: int, *others: int) -> int:
    """``size``, moved up off the sizes of other axes (N != C, T != N, H != I): a mix-up of
    two axes of equal size goes unseen."""
    while size in others:
        size += 1
    return size
