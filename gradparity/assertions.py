"""Comparisons whose failure message a learner can act on.

A mismatch names the layer, what differs (an output or a gradient), the call's shapes
and hyperparameters, how many elements differ, the worst element with both values, the
tolerance and, where the failure has a classic cause, a hint. Hypothesis adds the
reproduction below it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from .op_entry import Tolerance
from .sample import is_buffer


class Subject(Protocol):
    """What a message names: a layer's registry entry, or a whole model's check."""

    @property
    def name(self) -> str: ...

    @property
    def forward_name(self) -> str: ...

    @property
    def hints(self) -> dict[str, str]: ...


LAYOUT_WORDS = {
    "fortran": "in Fortran order",
    "transposed": "with their last two axes swapped in memory (as x.T.copy().T gives)",
    "negative strides": "with negative strides (as x[::-1] gives)",
    "slice": "as slices of larger arrays (every other element, as x[::2] gives)",
}


def as_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def _header(entry: Subject, what: str, sample: object) -> str:
    name, call = getattr(entry, "title", "") or entry.name, getattr(entry, "call_label", "") or entry.forward_name
    layout = " (in PyTorch's layout, which gradparity converts your arrays to and from)" if getattr(entry, "converted_layout", False) else ""
    return f"{name}: {what}\n  call{layout}: {call}{sample!r}"


def shape_hint(actual: tuple[int, ...], expected: tuple[int, ...]) -> str:
    """The classic cause of a wrong shape, where the shapes tell it."""
    if len(actual) == len(expected) and any(a == 0 and e > 0 for a, e in zip(actual, expected)):
        return "an axis of length 0: slicing a padded array with [p:-p] is empty when p = 0; slice [p:p + H] instead."
    if len(actual) == len(expected) >= 2 and actual[:-2] == expected[:-2] and actual[-2:] == expected[-2:][::-1]:
        return "the last two axes are swapped: H and W (or rows and columns) exchanged somewhere, which square inputs hide."
    if len(actual) == len(expected) + 1 and actual[1:] == expected:
        return "one axis too many, in front: a gradient not summed over the batch."
    if len(actual) == len(expected) >= 3 and actual[:-2] == expected[:-2] and expected[-2] != expected[-1]:
        return (
            "the last two axes have the wrong sizes: H and W read from the wrong axes of a shape ((N, C, H, W): H is axis 2), "
            "which square inputs hide, or a size computed wrongly ((H + 2 * pad - kH) // stride + 1)."
        )
    return ""


def assert_array_like(entry: Subject, what: str, actual, expected: np.ndarray | None, sample: object) -> None:
    """``actual`` is an ndarray of ``expected``'s shape and dtype; None where ``expected`` is
    None (an output PyTorch leaves out for this call: attention weights not asked for)."""
    __tracebackhide__ = True
    if expected is None:
        if actual is not None:
            raise AssertionError(_header(entry, f"{what} is a {type(actual).__name__}, but should be None for this call (as PyTorch's)", sample))
        return
    if isinstance(actual, np.generic):  # a NumPy scalar (a reduced loss) is a 0-d array
        actual = np.asarray(actual)
    if not isinstance(actual, np.ndarray):
        raise AssertionError(_header(entry, f"{what} is a {type(actual).__name__}, but should be a numpy.ndarray", sample))
    if actual.shape != expected.shape:
        hint = shape_hint(actual.shape, expected.shape)
        raise AssertionError(_header(entry, f"{what}.shape={actual.shape}, but should be {expected.shape}", sample) + (f"\n  hint: {hint}" if hint else ""))
    if actual.dtype != expected.dtype:
        raise AssertionError(_header(entry, f"{what}.dtype={actual.dtype}, but should be {expected.dtype} (the input's dtype)", sample))


def assert_close(entry: Subject, what: str, actual, expected, sample: object, tolerance: Tolerance, *, source: str = "PyTorch") -> None:
    """Elementwise ``|actual - expected| <= atol + rtol * |expected|``, as ``torch.testing.assert_close``."""
    __tracebackhide__ = True
    expected = as_numpy(expected)
    assert_array_like(entry, what, actual, expected, sample)
    if expected is None:
        return
    actual = np.asarray(actual)
    difference = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    allowed = tolerance.atol + tolerance.rtol * np.abs(expected.astype(np.float64))
    # NaN where PyTorch has NaN, and the same infinity, are equal (as in assert_close).
    same_special = (np.isnan(actual) & np.isnan(expected)) | (np.isinf(actual) & (actual == expected))
    mismatched = ~((difference <= allowed) | same_special)
    if not mismatched.any():
        return
    excess = np.where(mismatched, np.nan_to_num(difference - allowed, nan=np.inf), -np.inf)
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    lines = [
        _header(entry, f"{what} differs from {source}", sample),
        f"  mismatched elements: {int(mismatched.sum())} / {mismatched.size} ({100 * mismatched.mean():.1f}%)",
        f"  worst at index {tuple(int(i) for i in worst)}: got {actual[worst].item()!r}, {source} gives {expected[worst].item()!r} "
        f"(abs diff {difference[worst]:.3g})",
        f"  tolerance: rtol={tolerance.rtol:g}, atol={tolerance.atol:g} ({tolerance.reason})",
    ]
    where = _first_differing_step(entry, what, mismatched, sample)
    if where:
        lines.insert(2, f"  {where}")
    hint = entry.hints.get(what) or entry.hints.get(what.split("[")[0])
    if hint:
        lines.append(f"  hint: {hint}")
    layout = getattr(sample, "layout", "contiguous")
    if layout != "contiguous":
        lines.append(
            f"  layout: the arrays were passed {LAYOUT_WORDS.get(layout, layout)}. If your layer is right on contiguous arrays, it "
            "depends on how they lie in memory: windows built with as_strided from strides of its own (use x.strides), or "
            "raw memory read as C order. np.ascontiguousarray(x) first, or compute from x.strides."
        )
    raise AssertionError("\n".join(lines))


def _first_differing_step(entry: Subject, what: str, mismatched: np.ndarray, sample: object) -> str:
    """For a sequence's output or gradient: the first time step (or layer and direction)
    at which it differs, where the mistake starts."""
    name = what.split(" ")[0]
    time_axis = getattr(entry, "time_axes", {}).get(name)
    layer_axis = getattr(entry, "layer_axes", {}).get(name)
    axis = time_axis if time_axis is not None else layer_axis
    if axis is None or mismatched.ndim <= axis:
        return ""
    others = tuple(a for a in range(mismatched.ndim) if a != axis)
    first = int(np.flatnonzero(mismatched.any(axis=others))[0])
    if time_axis is not None:
        return f"first differs at time step t = {first} (of {mismatched.shape[axis]}, counting from 0)"
    directions = 2 if getattr(sample, "kwargs", {}).get("bidirectional") else 1
    direction = " (the reverse direction)" if directions == 2 and first % 2 else ""
    return f"first differs at layer {first // directions}{direction}"


def assert_gradient(entry: Subject, name: str, grad, given, expected: dict[str, np.ndarray], sample: object, tolerance: Tolerance) -> None:
    """The gradient of argument ``name``: None where the argument was None, a dict with the
    same keys where it was a dict; ``expected`` is keyed by ``flatten`` labels."""
    __tracebackhide__ = True
    if given is None:
        if grad is not None:
            raise AssertionError(_header(entry, f"d{name} should be None when {name} is None; got {type(grad).__name__}", sample))
        return
    if isinstance(given, dict):
        trainable = [key for key in given if not is_buffer(key)]  # buffers get no gradient
        if not isinstance(grad, dict) or set(grad) != set(trainable):
            got = sorted(grad) if isinstance(grad, dict) else type(grad).__name__
            raise AssertionError(_header(entry, f"d{name} should be a dict with the trainable keys {sorted(trainable)}; got {got}", sample))
        for key in trainable:
            assert_close(entry, f"d{name}['{key}']", grad[key], expected[f"{name}['{key}']"], sample, tolerance)
        return
    assert_close(entry, f"d{name}", grad, expected[name], sample, tolerance)


def assert_unchanged(entry: Subject, what: str, before, after, sample: object, when: str) -> None:
    __tracebackhide__ = True
    if before is None:
        return
    if isinstance(before, dict):
        for key in before:
            assert_unchanged(entry, f"{what}['{key}']", before[key], after[key], sample, when)
        return
    if not np.array_equal(before, after, equal_nan=True):
        changed = int((~((before == after) | (np.isnan(before) & np.isnan(after)))).sum())
        raise AssertionError(
            _header(entry, f"{when} modified its argument '{what}' in place ({changed} elements changed)", sample)
            + "\n  hint: work on a copy (x = x.copy(), or out-of-place operations): callers reuse their arrays."
        )
