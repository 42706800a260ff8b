"""What the Deep Learning Specialization's adapters share: calling a learner's function (an
exception with a classic course cause gets its hint), checking what it returned in the
course's terms before converting it, entries written in the course's own layout, and
comparing the extra arrays a course function returns."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
import torch

from ...assertions import assert_close
from ...op_entry import OpEntry
from ...sample import describe, map_arrays
from ..adapting import FLOAT64_ONLY, returned

# The three assignments, as the summary groups their rows.
COURSE_1 = "course 1, week 4"
COURSE_4 = "course 4, week 1"
COURSE_5 = "course 5, week 1"

# ------------------------------------------------------------------------------ messages

PAD_ZERO = (
    "with pad = 0, X[pad:-pad] is X[0:0], an empty array: cut the padding off with "
    "da_prev_pad[pad:pad + n_H_prev, pad:pad + n_W_prev, :] (or only when pad > 0)"
)
SWAPPED = (
    "n_H and n_W are swapped: n_H counts rows (axis 1 of A_prev, vert_start = h * stride), n_W columns (axis 2, "
    "horiz_start = w * stride); on a non-square input the swap shows"
)
KEEPDIMS = "sum with keepdims=True (np.sum(dZ, axis=1, keepdims=True)), so that it keeps the column shape (n, 1)"
FLOAT_B = (
    "hint: float(b) of b's (1, 1, 1) array raises TypeError on NumPy 2 ('only 0-dimensional arrays can be converted'): "
    "use b.item() or float(np.squeeze(b))"
)
ONE_ELEMENT = (
    "hint: an array stored into one element (Z[i, h, w, c] = ...): conv_single_step must return a number; the 2017 notebook's "
    "Z + b left a (1, 1, 1) array, which NumPy 2 no longer converts: add b.item() (or float(np.squeeze(b)))"
)


def _add_note(error: BaseException, hint: str) -> None:
    error.__notes__ = [*getattr(error, "__notes__", []), hint]  # type: ignore[attr-defined]


@contextlib.contextmanager
def course_call(*, pad: int | None = None) -> Iterator[None]:
    """Run a learner's function; an exception with a classic course cause gets a hint
    (as a note: the learner's own exception and traceback stay what they are)."""
    try:
        yield
    except TypeError as error:
        if "converted to Python scalars" in str(error):
            _add_note(error, FLOAT_B)
        raise
    except ValueError as error:
        if pad == 0 and "broadcast" in str(error):
            _add_note(error, f"hint: {PAD_ZERO}")
        elif "setting an array element with a sequence" in str(error):
            _add_note(error, ONE_ELEMENT)
        elif "non-broadcastable output operand" in str(error):
            _add_note(error, f"hint: a gradient added into an accumulator of another shape: {KEEPDIMS}")
        raise


def _shape_hint(shape: tuple[int, ...], expected: tuple[int, ...], pad: int | None) -> str:
    """The classic course mistake a wrong shape shows, if any."""
    if pad == 0 and 0 in shape:
        return PAD_ZERO
    if len(shape) == 4 == len(expected) and shape == (expected[0], expected[2], expected[1], expected[3]):
        return SWAPPED
    if len(expected) == 2 and expected[1] == 1 and shape == expected[:1]:
        return KEEPDIMS
    if len(expected) == 2 and shape == expected[::-1] and expected[0] != expected[1]:
        return "transposed: the course's arrays are features first, (n, m), m examples in columns"
    return ""


def checked(function: str, name: str, value, expected: tuple[int, ...], *, hint: str = "", pad: int | None = None) -> np.ndarray:
    """``value`` of the course's ``expected`` shape, or a message in the course's terms (with
    the hint of a classic mistake when its shape shows one)."""
    __tracebackhide__ = True
    expected = tuple(int(side) for side in expected)
    if isinstance(value, (np.ndarray, np.generic)) and tuple(np.shape(value)) != expected:
        hint = _shape_hint(tuple(np.shape(value)), expected, pad) or hint
    return returned(function, name, value, shape=expected, hint=hint)


def unpack(function: str, result, names: tuple[str, ...]) -> tuple:
    """The learner's returned tuple, or a message naming what the course returns."""
    __tracebackhide__ = True
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
        raise AssertionError(f"{function} returned {got}, but should return ({', '.join(names)})")
    return tuple(result)


def own_layout_entry(*, title: str, **fields) -> OpEntry:
    """An entry written in the course's layout, checked in float64 (the course's np.zeros).
    ``title``: the learner's functions, as messages name them. Set here, not left to
    ``Binding``, which would also set a call label, and with it the words "in PyTorch's
    layout" on every message's call line: these calls are the course's arrays as they are
    (the call line then names ``<name>_forward``, the learner's function for the entries
    named after it: ``rnn_cell``, ``L_model``)."""
    return OpEntry(skips=(FLOAT64_ONLY,), title=title, **fields)


class CallLine:
    """A call as a message's ``call:`` line shows it: the arrays' shapes."""

    def __init__(self, names: tuple[str, ...], args: tuple) -> None:
        self.names, self.args = names, args

    def __repr__(self) -> str:  # only when a message is written
        return f"({', '.join(f'{name}={describe(value)}' for name, value in zip(self.names, self.args))})"


def _tensor(value):
    return None if value is None else torch.from_numpy(np.array(value, order="C"))


def compare_returned(entry: OpEntry, full_twin: Callable, args: tuple, returned_by_name: dict[str, np.ndarray], *, before: tuple[str, ...] = ()) -> None:
    """Compare with PyTorch the arrays a course function returns besides the entry's
    outputs (those its backward takes no gradient of: yt_pred, the LSTM's c, L_model's AL).
    ``before``: compared first, whatever the outputs (AL, which the cost is computed from);
    the others only when the entry's outputs match, so that a message names where a
    mistake starts (a wrong a_next makes yt_pred wrong too)."""
    __tracebackhide__ = True
    with torch.no_grad():
        expected = full_twin(*[map_arrays(arg, _tensor) for arg in args])
    names = tuple(returned_by_name)
    call = CallLine(entry.array_args, args)
    tolerance = entry.tolerance("float64")
    for name in before:
        assert_close(entry, name, returned_by_name[name], expected[names.index(name)], call, tolerance)
    try:
        for name in entry.outputs:
            assert_close(entry, name, returned_by_name[name], expected[names.index(name)], call, tolerance)
    except AssertionError:
        return  # the outputs' own comparison reports it
    for name in names:
        if name not in before and name not in entry.outputs:
            assert_close(entry, name, returned_by_name[name], expected[names.index(name)], call, tolerance)
