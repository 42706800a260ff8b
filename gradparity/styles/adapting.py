"""The tools course adapters are written with: a registry entry restricted to a course's
space, and the learner's returned values checked before they are converted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import ModuleType

import numpy as np

from ..op_entry import OpEntry, Skip
from ..sample import Sample

# Course code computes in float64 (np.zeros without a dtype): float32 in, float64 out is
# the course's convention, not a bug; the course's functions are checked in float64.
FLOAT64_ONLY = Skip(None, "float32", None, "the course's functions compute in float64 (np.zeros): checked in float64 only")


def course_entry(
    entry: OpEntry,
    name: str,
    *,
    keep: Callable[[Sample], bool] | None = None,
    change: Callable[[Sample], Sample] | None = None,
    **changes,
) -> OpEntry:
    """``entry`` as a course function checks it: renamed (its functions are then
    ``name_forward``/``name_backward`` in the adapted module), checked in float64, and its
    drawn calls ``change``d into the course's space and filtered by ``keep`` (a course's
    max pool takes one stride; its pooling draws no ties)."""
    samples = entry.samples

    def restricted(**options):
        drawn = samples(**options)
        drawn = drawn.map(change) if change is not None else drawn
        return drawn.filter(keep) if keep is not None else drawn

    return replace(entry, name=name, samples=restricted, skips=(*entry.skips, FLOAT64_ONLY), api_name=entry.api_name or entry.name, **changes)


def learner_function(module: ModuleType, name: str) -> Callable | None:
    """The learner's function ``name``, or None where it is not written yet (a backward)."""
    found = getattr(module, name, None)
    return found if callable(found) else None


def returned(function: str, name: str, value, *, shape: tuple[int, ...] | None = None, ndim: int | None = None, hint: str = "") -> np.ndarray:
    """``value``, which the learner's ``function`` returned as ``name``, as an array of the
    course's ``shape`` (or number of dimensions): checked before the adapter converts it, so
    that a wrong shape is said in the course's terms, not as a failed transpose."""
    __tracebackhide__ = True
    if isinstance(value, (float, int, np.generic)):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise AssertionError(f"{function} returned {name} as a {type(value).__name__}, but should return a numpy array")
    wrong = (shape is not None and value.shape != tuple(shape)) or (ndim is not None and value.ndim != ndim)
    if wrong:
        expected = f"{tuple(shape)}" if shape is not None else f"{ndim} dimensions"
        raise AssertionError(f"{function} returned {name}.shape={value.shape}, but should be {expected} (the course's layout)" + (f"\n  hint: {hint}" if hint else ""))
    return value


def key(function: str, grads: dict, *names: str):
    """``grads[name]`` for the first of ``names`` the learner's dict has (courses renamed some
    keys between versions), or a message naming what is missing."""
    __tracebackhide__ = True
    if not isinstance(grads, dict):
        raise AssertionError(f"{function} returned a {type(grads).__name__}, but should return a dict of gradients")
    for name in names:
        if name in grads:
            return grads[name]
    raise AssertionError(f"{function} returned no {' or '.join(repr(n) for n in names)}; its keys: {sorted(grads)}")
