"""Bad inputs raise the documented error, naming the function and the argument.

This is the reference's contract (``contract.py``): for an implementation under test a
bad call that is not rejected as documented is an advisory note, and fails only under
``--check-contract``. A bad call is made positionally, as every check calls a layer; one
that needs an argument the implementation's forward does not take is not checked.

A course's function is given the bad calls of the API layer it is checked as, through its
adapter: the cell reads n/a, as courses do not say what bad input raises, unless the
function raises a ValueError or TypeError of its own (it checks its input: passed).
"""

import traceback
from pathlib import Path

import numpy as np
import pytest
import torch

from .. import api
from ..bad_calls import UNDOCUMENTED, positional, rejection_problem
from ..implementation import NOT_CHECKED
from ..plugin import checked_entries
from ..summary import NOT_APPLICABLE

ENTRIES = checked_entries()
pytestmark = pytest.mark.check("errors")

# Where a raise is not the learner's own: the libraries, and gradparity's adapters.
LIBRARY_FOLDERS = [Path(str(module.__file__)).resolve().parent for module in (np, torch)] + [Path(__file__).resolve().parent.parent]
CASES = [(entry, error) for entry in ENTRIES for error in entry.error_inputs]


def raised_on_purpose(error: BaseException) -> bool:
    """Whether ``error`` is a ValueError or TypeError that the learner's code raised itself
    (a ``raise`` statement outside NumPy, PyTorch and gradparity), not one that NumPy, or
    an adapter's conversion, ran into."""
    frames = traceback.extract_tb(error.__traceback__)
    if not isinstance(error, (ValueError, TypeError)) or not frames:
        return False
    last = frames[-1]
    library = any(Path(last.filename).resolve().is_relative_to(folder) for folder in LIBRARY_FOLDERS)
    return not library and (last.line or "").lstrip().startswith("raise")


def course_bad_input(impl, entry, error, forward) -> None:
    """A course does not say what bad input raises: the cell reads n/a, unless the learner's
    function checks its input, as it did when it raises a ValueError or TypeError of its own."""
    function, kwargs = f"{entry.api_name}_forward", dict(error.kwargs)
    given = dict(zip(api.parameters(function), error.arrays)) | kwargs
    if "bias=None" in impl.adapted.binding(entry.name).left_out and given.get("weight") is not None and given.get("bias") is None:
        kwargs["bias"] = np.zeros(given["weight"].shape[0], given["weight"].dtype)  # the course always adds a bias: a neutral one
    args = positional(function, error.arrays, kwargs)
    if len(args) <= api.positional_capacity(forward):  # a bad call the course function can be given
        try:
            forward(*args)
        except Exception as raised:  # a learner's function may raise anything
            if raised_on_purpose(raised):
                return
    pytest.skip(f"{NOT_APPLICABLE}: {impl.style}'s functions do not specify what bad input raises")


@pytest.mark.parametrize(("entry", "error"), CASES, ids=[f"{e.name}-{err.description}" for e, err in CASES])
def test_bad_input_raises(impl, contract, entry, error):
    forward = impl.get(entry.forward_name)
    if impl.is_course:
        if not entry.api_name:
            pytest.skip(f"{NOT_APPLICABLE}: {impl.style}'s functions do not specify what bad input raises")
        course_bad_input(impl, entry, error, forward)
        return
    args = positional(entry.forward_name, error.arrays, error.kwargs)
    if len(args) > api.positional_capacity(forward):
        pytest.skip(f"{NOT_CHECKED}: {entry.forward_name} takes fewer arguments than this bad call needs")
    given = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    problem = rejection_problem(entry, error, forward, given)
    if problem is None and any(isinstance(a, np.ndarray) and not np.array_equal(a, b) for a, b in zip(args, given)):
        problem = f"{entry.name}: for {error.description}, {entry.forward_name} modified its input"
    if problem is not None:
        contract.breach(UNDOCUMENTED, lambda: problem)
