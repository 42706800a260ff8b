"""Purity: forward and backward leave every array they were given (and dout) unchanged."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .assertions import assert_unchanged
from .layer_calls import draw_upstream, run_backward, run_forward
from .registry import REGISTRY

pytestmark = pytest.mark.check("purity")


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.name)
@given(data=st.data())
def test_purity(impl, entry, data):
    forward, backward = impl.get(entry.forward_name, entry.backward_name)
    sample = data.draw(entry.samples(), label=entry.name)
    given_arrays = sample.array_copies()
    outputs, cache = run_forward(entry, forward, sample, arrays=given_arrays)
    for name, before, after in zip(entry.array_args, sample.arrays.values(), given_arrays):
        assert_unchanged(entry, name, before, after, sample, entry.forward_name)

    upstream = draw_upstream(sample, outputs)
    given_upstream = [u.copy() for u in upstream]
    run_backward(entry, backward, given_upstream, cache)
    for index, (before, after) in enumerate(zip(upstream, given_upstream)):
        assert_unchanged(entry, "dout" if len(upstream) == 1 else f"dout[{index}]", before, after, sample, entry.backward_name)
    for name, before, after in zip(entry.array_args, sample.arrays.values(), given_arrays):
        assert_unchanged(entry, name, before, after, sample, entry.backward_name)
