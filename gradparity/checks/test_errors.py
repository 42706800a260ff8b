"""Bad inputs raise the documented error, naming the function and the argument.

This is the reference's contract (``contract.py``): for an implementation under test a
bad call that is not rejected as documented is an advisory note, and fails only under
``--check-contract``. A bad call is made positionally, as every check calls a layer; one
that needs an argument the implementation's forward does not take is not checked.
"""

import re

import numpy as np
import pytest

from .. import api
from ..implementation import NOT_CHECKED
from ..plugin import checked_entries
from ..summary import NOT_APPLICABLE

ENTRIES = checked_entries()
pytestmark = pytest.mark.check("errors")

CASES = [(entry, error) for entry in ENTRIES for error in entry.error_inputs]
UNDOCUMENTED = "undocumented errors"


def positional(function_name: str, arrays: tuple, kwargs: dict) -> list:
    """The call's arguments in the API's order, the gaps filled with the API's defaults."""
    names = api.parameters(function_name)
    values = dict(zip(names, arrays)) | kwargs
    last = max(names.index(name) for name in values)
    return [values[name] if name in values else api.default(function_name, name) for name in names[: last + 1]]


def rejection_problem(entry, error, forward, args) -> str | None:
    """What is wrong with how ``forward`` handles the bad call, or None."""
    try:
        forward(*args)
    except error.exception as raised:
        message = str(raised)
        if entry.forward_name in message and re.search(rf"\b{error.argument}\b", message):
            return None
        return (
            f"{entry.name}: for {error.description}, the {error.exception.__name__} should name "
            f"{entry.forward_name} and the argument '{error.argument}'; its message was: {message!r}"
        )
    except Exception as raised:  # a learner's layer may raise anything
        return f"{entry.name}: for {error.description}, {entry.forward_name} raised {type(raised).__name__}: {raised}; expected {error.exception.__name__}"
    return f"{entry.name}: for {error.description}, {entry.forward_name} raised nothing; expected {error.exception.__name__} naming '{error.argument}'"


@pytest.mark.parametrize(("entry", "error"), CASES, ids=[f"{e.name}-{err.description}" for e, err in CASES])
def test_bad_input_raises(impl, contract, entry, error):
    forward = impl.get(entry.forward_name)
    if impl.is_course:
        pytest.skip(f"{NOT_APPLICABLE}: {impl.style}'s functions do not specify what bad input raises")
    args = positional(entry.forward_name, error.arrays, error.kwargs)
    if len(args) > api.positional_capacity(forward):
        pytest.skip(f"{NOT_CHECKED}: {entry.forward_name} takes fewer arguments than this bad call needs")
    given = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    problem = rejection_problem(entry, error, forward, given)
    if problem is None and any(isinstance(a, np.ndarray) and not np.array_equal(a, b) for a, b in zip(args, given)):
        problem = f"{entry.name}: for {error.description}, {entry.forward_name} modified its input"
    if problem is not None:
        contract.breach(UNDOCUMENTED, lambda: problem)
