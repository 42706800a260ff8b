"""Purity: forward and backward leave every array they were given (and dout) unchanged.

The one exception, as in PyTorch: a layer's ``state_args`` (batch norm's running
statistics) are updated in place in training mode; ``test_forward`` checks their values.
Batch counters (``num_batches_tracked``) may be counted in place too (SPEC v2). The calls'
own failures and warnings are the forward and backward columns' to report; an example
whose forward raises is not this check's.
"""

import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ..assertions import assert_unchanged
from ..contract import UNJUDGED
from ..layer_calls import copies, draw_sample, draw_upstream, edge_case_id, edge_cases, edge_sample, forward_for, run_backward
from ..plugin import check_settings, checked_entries
from ..sample import Sample, is_buffer, is_counter

ENTRIES = checked_entries()
pytestmark = pytest.mark.check("purity")


def check_purity(impl, tally, entry, sample: Sample) -> None:
    forward = impl.get(entry.forward_name)
    # Without a backward (forward-only, or not written yet) the forward's purity is checked alone.
    backward = impl.get(entry.backward_name) if entry.has_backward and impl.defines(entry.backward_name) else None
    may_change = entry.state_args if sample.kwargs.get("training", False) else ()

    def kept(name, before):  # in training a state argument may change: an array whole, a dict's buffers
        if isinstance(before, dict):
            return {k: v for k, v in before.items() if not is_counter(k) and not (name in may_change and is_buffer(k))}
        return before

    watched = [(name, kept(name, before)) for name, before in zip(entry.array_args, sample.arrays.values()) if name not in may_change or isinstance(before, dict)]
    given_arrays = sample.array_copies()
    given_by_name = dict(zip(entry.array_args, given_arrays))
    ran = forward_for(entry, forward, sample, tally, arrays=given_arrays)
    if ran is None:
        return
    outputs, cache = ran
    for name, before in watched:
        assert_unchanged(entry, name, before, given_by_name[name], sample, entry.forward_name)

    if backward is None:  # a forward-only function
        return
    upstream = draw_upstream(entry, sample, outputs)
    given_upstream = copies(upstream, sample.layout)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_backward(entry, backward, given_upstream, cache, contract=UNJUDGED, sample=sample)
    except Exception:  # the backward column reports it; what the forward did is still checked above
        return
    for name, before, after in zip(entry.outputs, upstream, given_upstream):
        assert_unchanged(entry, f"d{name}", before, after, sample, entry.backward_name)
    for name, before in watched:
        assert_unchanged(entry, name, before, given_by_name[name], sample, entry.backward_name)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
@check_settings
@given(data=st.data())
def test_purity(impl, tally, entry, data):
    impl.get(entry.forward_name)
    check_purity(impl, tally, entry, draw_sample(data, entry, impl))


@pytest.mark.parametrize(("entry", "case"), edge_cases(ENTRIES), ids=edge_case_id)
def test_purity_edge_case(impl, tally, entry, case):
    impl.get(entry.forward_name)
    check_purity(impl, tally, entry, edge_sample(impl, entry, case))
