"""``torch.autograd.gradcheck`` in float64 on the implementation itself, through the bridge:
its backward against finite differences of its own forward, independent of PyTorch's kernels."""

import re

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.autograd.gradcheck import GradcheckError

from torch_impl import numpy_op

from .registry import REGISTRY

pytestmark = pytest.mark.check("gradcheck")


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.name)
@given(data=st.data())
def test_gradcheck(impl, entry, data):
    forward, backward = impl.get(entry.forward_name, entry.backward_name)
    sample = data.draw(entry.samples(for_gradcheck=True), label=entry.name)
    def forward_of_arrays(*arrays):
        return forward(*sample.call_args(entry.signature, arrays))

    layer = numpy_op(forward_of_arrays, backward, grad_positions=[entry.array_args.index(name) for name in entry.gradient_args])
    tensors = sample.tensors("cpu", entry.gradient_args)
    varied = [i for i, t in enumerate(tensors) if t is not None and t.requires_grad]

    def call(*inputs):
        args = list(tensors)
        for position, value in zip(varied, inputs):
            args[position] = value
        return layer(*args)

    try:
        torch.autograd.gradcheck(call, [tensors[i] for i in varied])
    except GradcheckError as error:
        found = re.search(r"with respect to input (\d+)", str(error))
        which = f"d{entry.array_args[varied[int(found.group(1))]]}" if found else "a gradient"
        raise AssertionError(
            f"{entry.name}: {which} of {entry.backward_name} disagrees with finite differences of "
            f"{entry.forward_name} (torch.autograd.gradcheck, float64)\n  call: {entry.forward_name}{sample!r}\n"
            f"  {str(error).splitlines()[0]}"
        ) from None
