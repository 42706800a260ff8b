"""A bad call, made as every check calls a function (positionally, in the API's order),
and what is wrong with how the function handled it: shared by the errors column of the
layers (``checks/test_errors.py``) and of the optimizers (``checks/test_trajectory.py``)."""

from __future__ import annotations

import re

from . import api

UNDOCUMENTED = "undocumented errors"  # the advisory note of a bad call not rejected as documented


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
