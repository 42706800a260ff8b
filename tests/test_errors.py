"""Bad inputs raise the documented error, naming the function and the argument."""

import re

import numpy as np
import pytest

from .registry import REGISTRY

pytestmark = pytest.mark.check("errors")

CASES = [(entry, error) for entry in REGISTRY for error in entry.error_inputs]


@pytest.mark.parametrize(("entry", "error"), CASES, ids=[f"{e.name}-{err.description}" for e, err in CASES])
def test_bad_input_raises(impl, entry, error):
    forward = impl.get(entry.forward_name)
    given = [a.copy() if isinstance(a, np.ndarray) else a for a in error.arrays]
    with pytest.raises(error.exception) as raised:
        forward(*given, **error.kwargs)
    message = str(raised.value)
    assert entry.forward_name in message and re.search(rf"\b{error.argument}\b", message), (
        f"{entry.name}: for {error.description}, the {error.exception.__name__} should name "
        f"{entry.forward_name} and the argument '{error.argument}'; its message was: {message!r}"
    )
    for before, after in zip(error.arrays, given):
        if isinstance(before, np.ndarray):
            assert np.array_equal(before, after), f"{entry.name}: {error.description} modified its input"
