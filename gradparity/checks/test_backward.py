"""Backward parity: hand-written gradients against autograd's, for random upstream gradients."""

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from ..assertions import as_numpy, assert_array_like, assert_gradient
from ..layer_calls import copies, draw_upstream, run_backward, run_forward, run_twin
from ..plugin import check_settings
from ..registry import REGISTRY
from ..sample import flatten

pytestmark = pytest.mark.check("backward")


def autograd_gradients(outputs, upstream, leaves, device):
    """Gradients of ``sum(output * upstream)`` over the outputs that have an upstream
    gradient; zeros for leaves that none of them reaches."""
    pairs = [(out, torch.tensor(grad, device=device)) for out, grad in zip(outputs, upstream) if grad is not None]
    found = torch.autograd.grad([o for o, _ in pairs], leaves, [g for _, g in pairs], allow_unused=True) if pairs else [None] * len(leaves)
    return [torch.zeros_like(leaf) if grad is None else grad for leaf, grad in zip(leaves, found)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.name)
@check_settings
@given(data=st.data())
def test_backward(impl, contract, entry, dtype, device, data):
    forward, backward = impl.get(entry.forward_name, entry.backward_name)
    sample = data.draw(entry.samples(features=impl.features(entry)), label=entry.name)
    assume(entry.compares(sample, dtype))
    sample = sample.astype(dtype)
    outputs, cache = run_forward(entry, forward, sample, contract=contract)
    tensors = sample.tensors(device, entry.gradient_args)
    twin_outputs = run_twin(entry, tensors, sample)
    for name, actual, wanted in zip(entry.outputs, outputs, twin_outputs):
        assert_array_like(entry, name, actual, as_numpy(wanted), sample)  # else no shared upstream gradient

    upstream = draw_upstream(entry, sample, outputs)
    grads = run_backward(entry, backward, copies(upstream), cache, contract=contract, sample=sample)

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
