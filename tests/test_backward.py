"""Backward parity: hand-written gradients against autograd's, for a random upstream gradient."""

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from .assertions import as_numpy, assert_array_like, assert_close
from .layer_calls import draw_upstream, output_names, run_backward, run_forward, run_twin
from .registry import REGISTRY

pytestmark = pytest.mark.check("backward")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.name)
@given(data=st.data())
def test_backward(impl, entry, dtype, device, data):
    forward, backward = impl.get(entry.forward_name, entry.backward_name)
    sample = data.draw(entry.samples(), label=entry.name)
    assume(entry.compares(sample, dtype))
    sample = sample.astype(dtype)
    outputs, cache = run_forward(entry, forward, sample)
    tensors = sample.tensors(device, entry.gradient_args)
    twin_outputs = run_twin(entry, tensors, sample)
    for name, actual, wanted in zip(output_names(len(twin_outputs)), outputs, twin_outputs):
        assert_array_like(entry, name, actual, as_numpy(wanted), sample)  # else no shared upstream gradient

    upstream = draw_upstream(sample, outputs)
    grads = run_backward(entry, backward, [u.copy() for u in upstream], cache)

    leaves = dict(zip(entry.array_args, tensors))
    present = [leaves[name] for name in entry.gradient_args if leaves[name] is not None]
    expected = iter(torch.autograd.grad(twin_outputs, present, [torch.tensor(u, device=device) for u in upstream]))
    for name, grad in zip(entry.gradient_args, grads):
        if leaves[name] is None:
            assert grad is None, f"{entry.name}: d{name} should be None when {name} is None; got {type(grad).__name__}"
            continue
        assert_close(entry, f"d{name}", grad, next(expected), sample, entry.tolerance(dtype))
