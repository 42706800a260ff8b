"""Backward parity: hand-written gradients against autograd's, for random upstream gradients.

The forward runs first; what goes wrong there (an exception, a warning) is the forward
column's to report, and such an example is not this check's (``layer_calls.forward_for``)."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from ..assertions import as_numpy, assert_array_like, assert_gradient
from ..layer_calls import (
    backward_side,
    copies,
    draw_sample,
    draw_upstream,
    dtype_applies,
    edge_case_id,
    edge_cases,
    edge_sample,
    forward_for,
    run_backward,
    run_twin,
)
from ..plugin import check_settings, checked_entries
from ..registry import DTYPES_CHECKED
from ..sample import Sample, flatten

ENTRIES = checked_entries()
pytestmark = pytest.mark.check("backward")
DTYPES = list(DTYPES_CHECKED)


def autograd_gradients(outputs, upstream, leaves, device):
    """Gradients of ``sum(output * upstream)`` over the outputs that have an upstream
    gradient; zeros for leaves that none of them reaches."""
    pairs = [(out, torch.tensor(np.array(grad, order="C"), device=device)) for out, grad in zip(outputs, upstream) if grad is not None]
    found = torch.autograd.grad([o for o, _ in pairs], leaves, [g for _, g in pairs], allow_unused=True) if pairs else [None] * len(leaves)
    return [torch.zeros_like(leaf) if grad is None else grad for leaf, grad in zip(leaves, found)]


def check_backward(impl, contract, tally, entry, dtype: str, device: str, sample: Sample) -> None:
    forward, backward = impl.get(entry.forward_name, entry.backward_name)
    sample = sample.astype(dtype)
    ran = forward_for(entry, forward, sample, tally)
    if ran is None:
        return
    outputs, cache = ran
    tensors = sample.tensors(device, entry.gradient_args)
    twin_outputs = run_twin(entry, tensors, sample)
    for name, actual, wanted in zip(entry.outputs, outputs, twin_outputs):
        assert_array_like(entry, name, actual, as_numpy(wanted), sample)  # else no shared upstream gradient

    upstream = draw_upstream(entry, sample, outputs)
    grads = run_backward(entry, backward, copies(upstream, sample.layout), cache, contract=contract, sample=sample)

    given_tensors = dict(zip(entry.array_args, tensors))
    leaves = [
        (label, leaf)
        for name in entry.gradient_args
        for label, leaf in flatten(name, given_tensors[name])
        if leaf is not None and leaf.requires_grad
    ]
    expected = dict(zip([label for label, _ in leaves], autograd_gradients(twin_outputs, upstream, [leaf for _, leaf in leaves], device)))
    for name, grad in zip(entry.gradient_args, grads):
        assert_gradient(entry, name, grad, given_tensors[name], expected, sample, entry.tolerance(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
@check_settings
@given(data=st.data())
def test_backward(impl, contract, tally, entry, dtype, device, data):
    backward_side(entry)
    dtype_applies(entry, "backward", dtype)
    impl.get(entry.forward_name, entry.backward_name)
    sample = draw_sample(data, entry, impl)
    assume(entry.compares("backward", dtype, sample))
    check_backward(impl, contract, tally, entry, dtype, device, sample)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("entry", "case"), edge_cases(ENTRIES), ids=edge_case_id)
def test_backward_edge_case(impl, contract, tally, entry, case, dtype, device):
    backward_side(entry)
    dtype_applies(entry, "backward", dtype)
    impl.get(entry.forward_name, entry.backward_name)
    check_backward(impl, contract, tally, entry, dtype, device, edge_sample(impl, entry, case))
