"""Forward parity: the implementation's outputs against the PyTorch twin's, same dtype.

Arrays a layer updates in place when training (batch norm's running statistics) are
outputs too: after the call they must hold what PyTorch's twin left in its tensors.
"""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from .assertions import assert_close
from .layer_calls import run_forward, run_twin
from .registry import REGISTRY
from .sample import is_buffer

pytestmark = pytest.mark.check("forward")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.name)
@given(data=st.data())
def test_forward(impl, entry, dtype, device, data):
    forward = impl.get(entry.forward_name)
    sample = data.draw(entry.samples(), label=entry.name)
    assume(entry.compares(sample, dtype))
    sample = sample.astype(dtype)
    given_arrays = sample.array_copies()
    outputs, _ = run_forward(entry, forward, sample, arrays=given_arrays)
    tensors = sample.tensors(device)
    expected = run_twin(entry, tensors, sample)
    for name, actual, wanted in zip(entry.outputs, outputs, expected):
        assert_close(entry, name, actual, wanted, sample, entry.tolerance(dtype))
    for name, array, tensor in zip(entry.array_args, given_arrays, tensors):
        if name not in entry.state_args or array is None:
            continue
        # A state array is updated whole; a state dict (a state_dict) in its buffers.
        updated = {k: (array[k], tensor[k]) for k in array if is_buffer(k)} if isinstance(array, dict) else {"": (array, tensor)}
        for key, (ours, theirs) in updated.items():
            label = f"{name}['{key}']" if key else name
            assert_close(entry, f"{label} (updated in place)", ours, theirs, sample, entry.tolerance(dtype))
