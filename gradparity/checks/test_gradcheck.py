"""``torch.autograd.gradcheck`` in float64 on the implementation itself, through the bridge:
its backward against finite differences of its own forward, independent of PyTorch's kernels.
The forward's own failures and warnings are the forward column's to report."""

import re
import warnings

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch.autograd.gradcheck import GradcheckError

from torch_impl import numpy_op

from ..assertions import as_numpy, assert_array_like
from ..layer_calls import backward_side, draw_sample, forward_args, forward_for, run_backward
from ..plugin import check_settings, checked_entries

ENTRIES = checked_entries()
pytestmark = pytest.mark.check("gradcheck")


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
@check_settings
@given(data=st.data())
def test_gradcheck(impl, contract, tally, entry, data):
    backward_side(entry)
    forward, backward = impl.get(entry.forward_name, entry.backward_name)
    sample = draw_sample(data, entry, impl, for_gradcheck=True)
    assume(entry.compares("gradcheck", "float64", sample))
    if forward_for(entry, forward, sample, tally) is None:
        return
    tensors = sample.tensors("cpu", entry.gradient_args)
    # The bridge passes flat tensors: one per array, one per entry of a dict argument.
    by_name = dict(zip(entry.array_args, tensors))
    slots = [(name, key) for name, value in by_name.items() for key in (value if isinstance(value, dict) else [None])]
    flat = [by_name[name] if key is None else by_name[name][key] for name, key in slots]
    labels = [name if key is None else f"{name}['{key}']" for name, key in slots]

    def rebuild(flat_arrays):
        args = {name: {} if isinstance(value, dict) else None for name, value in by_name.items()}
        for (name, key), array in zip(slots, flat_arrays):
            if key is None:
                args[name] = array
            else:
                args[name][key] = array
        return list(args.values())

    def forward_flat(*flat_arrays):
        with warnings.catch_warnings():  # the forward column judges the forward's warnings
            warnings.simplefilter("ignore")
            return forward(*forward_args(entry, forward, sample, rebuild(flat_arrays)))

    def backward_flat(*upstream_and_cache):
        *upstream, cache = upstream_and_cache
        grads = dict(zip(entry.gradient_args, run_backward(entry, backward, upstream, cache, contract=contract, sample=sample)))
        flat_grads = [
            None if grads.get(name) is None else (grads[name] if key is None else grads[name].get(key))  # buffers: no gradient
            for name, key in slots
        ]
        for label, grad, tensor in zip(labels, flat_grads, flat):
            if grad is not None and tensor is not None:  # the same words as the backward check, not autograd's
                assert_array_like(entry, f"d{label}", grad, as_numpy(tensor), sample)
        return tuple(flat_grads)

    layer = numpy_op(forward_flat, backward_flat)
    varied = [i for i, t in enumerate(flat) if t is not None and t.requires_grad]

    def call(*inputs):
        args = list(flat)
        for position, value in zip(varied, inputs):
            args[position] = value
        outputs = layer(*args)  # an output that is None (weights not asked for) is not gradcheck's
        return tuple(out for out in outputs if out is not None) if isinstance(outputs, tuple) else outputs

    try:
        torch.autograd.gradcheck(call, [flat[i] for i in varied])
    except GradcheckError as error:
        found = re.search(r"with respect to input (\d+)", str(error))
        which = f"d{labels[varied[int(found.group(1))]]}" if found else "a gradient"
        raise AssertionError(
            f"{entry.name}: {which} of {entry.backward_name} disagrees with finite differences of "
            f"{entry.forward_name} (torch.autograd.gradcheck, float64)\n  call: {entry.forward_name}{sample!r}\n"
            f"  {str(error).splitlines()[0]}"
        ) from None
