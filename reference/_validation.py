"""Argument checks shared by every layer.

Each helper raises ``TypeError`` (wrong kind of argument, non-float data) or
``ValueError`` (shapes, sizes, hyperparameters) with a message of the form
``"<function>: argument '<name>' <what was expected>; got <what was given>"`` so
that a learner sees at once which call and which argument is wrong.
"""

from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _fail(error: type[Exception], function: str, name: str, message: str) -> Exception:
    return error(f"{function}: argument '{name}' {message}")


def float_array(function: str, name: str, value, *, ndim: int | None = None) -> np.ndarray:
    """Return ``value`` if it is a float32/float64 ndarray of ``ndim`` dimensions."""
    if not isinstance(value, np.ndarray):
        raise _fail(TypeError, function, name, f"must be a numpy.ndarray; got {type(value).__name__}")
    if value.dtype not in FLOAT_DTYPES:
        raise _fail(TypeError, function, name, f"must have dtype float32 or float64; got {value.dtype}")
    if ndim is not None and value.ndim != ndim:
        raise _fail(ValueError, function, name, f"must be {ndim}-D; got shape {value.shape}")
    return value


def same_dtype(function: str, name: str, value: np.ndarray, reference_dtype: np.dtype) -> None:
    if value.dtype != reference_dtype:
        raise _fail(TypeError, function, name, f"must have the input's dtype {reference_dtype}; got {value.dtype}")


def shape_is(function: str, name: str, value: np.ndarray, expected: tuple[int, ...]) -> None:
    if value.shape != tuple(expected):
        raise _fail(ValueError, function, name, f"must have shape {tuple(expected)}; got {value.shape}")


def is_int(value) -> bool:
    """An integer, but not a bool (True is an int to Python, never a size to us)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def int_pair(function: str, name: str, value, *, minimum: int) -> tuple[int, int]:
    """An int or an ``(h, w)`` pair of ints, each at least ``minimum``, as a pair."""
    pair = (value, value) if is_int(value) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(is_int(v) for v in pair)):
        raise _fail(TypeError, function, name, f"must be an int or a pair of ints; got {value!r}")
    if min(pair) < minimum:
        raise _fail(ValueError, function, name, f"must be at least {minimum}; got {value!r}")
    return int(pair[0]), int(pair[1])


def positive_int(function: str, name: str, value) -> int:
    if not is_int(value):
        raise _fail(TypeError, function, name, f"must be an int; got {value!r}")
    if value < 1:
        raise _fail(ValueError, function, name, f"must be at least 1; got {value!r}")
    return int(value)


def boolean(function: str, name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(TypeError, function, name, f"must be a bool; got {value!r}")
    return bool(value)


def invalid(function: str, name: str, message: str) -> ValueError:
    """A ``ValueError`` for a check specific to one layer."""
    return _fail(ValueError, function, name, message)  # type: ignore[return-value]
