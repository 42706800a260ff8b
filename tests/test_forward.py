"""Forward parity: the implementation's outputs against the PyTorch twin's, same dtype."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .assertions import assert_close
from .layer_calls import output_names, run_forward, run_twin
from .registry import REGISTRY

pytestmark = pytest.mark.check("forward")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.name)
@given(data=st.data())
def test_forward(impl, entry, dtype, device, data):
    forward = impl.get(entry.forward_name)
    sample = data.draw(entry.samples(), label=entry.name).astype(dtype)
    outputs, _ = run_forward(entry, forward, sample)
    expected = run_twin(entry, sample.tensors(device), sample)
    for name, actual, wanted in zip(output_names(len(expected)), outputs, expected):
        assert_close(entry, name, actual, wanted, sample, entry.tolerance(dtype))
