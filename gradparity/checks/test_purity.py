"""Purity: forward and backward leave every array they were given (and dout) unchanged.

The one exception, as in PyTorch: a layer's ``state_args`` (batch norm's running
statistics) are updated in place in training mode; ``test_forward`` checks their values.
Batch counters (``num_batches_tracked``) may be counted in place too (SPEC v2).
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ..assertions import assert_unchanged
from ..layer_calls import copies, draw_upstream, run_backward, run_forward
from ..plugin import check_settings
from ..registry import REGISTRY
from ..sample import is_buffer, is_counter

pytestmark = pytest.mark.check("purity")


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.name)
@check_settings
@given(data=st.data())
def test_purity(impl, contract, entry, data):
    forward, backward = impl.get(entry.forward_name, entry.backward_name)
    sample = data.draw(entry.samples(features=impl.features(entry)), label=entry.name)
    may_change = entry.state_args if sample.kwargs.get("training", False) else ()

    def kept(name, before):  # in training a state argument may change: an array whole, a dict's buffers
        if isinstance(before, dict):
            return {k: v for k, v in before.items() if not is_counter(k) and not (name in may_change and is_buffer(k))}
        return before

    watched = [(name, kept(name, before)) for name, before in zip(entry.array_args, sample.arrays.values()) if name not in may_change or isinstance(before, dict)]
    given_arrays = sample.array_copies()
    given_by_name = dict(zip(entry.array_args, given_arrays))
    outputs, cache = run_forward(entry, forward, sample, arrays=given_arrays, contract=contract)
    for name, before in watched:
        assert_unchanged(entry, name, before, given_by_name[name], sample, entry.forward_name)

    upstream = draw_upstream(entry, sample, outputs)
    given_upstream = copies(upstream)
    run_backward(entry, backward, given_upstream, cache, contract=contract, sample=sample)
    for name, before, after in zip(entry.outputs, upstream, given_upstream):
        assert_unchanged(entry, f"d{name}", before, after, sample, entry.backward_name)
    for name, before in watched:
        assert_unchanged(entry, name, before, given_by_name[name], sample, entry.backward_name)
