"""Forward parity: the implementation's outputs against the PyTorch twin's, same dtype.

Arrays a layer updates in place when training (batch norm's running statistics) are
outputs too: after the call they must hold what PyTorch's twin left in its tensors. Batch
counters (``num_batches_tracked``) may be left alone or counted (SPEC v2): not compared.
"""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ..assertions import assert_close
from ..layer_calls import draw_sample, dtype_applies, edge_case_id, edge_cases, edge_sample, run_forward, run_twin
from ..plugin import check_settings, checked_entries
from ..registry import DTYPES_CHECKED
from ..sample import Sample, is_buffer, is_counter

ENTRIES = checked_entries()
pytestmark = pytest.mark.check("forward")
DTYPES = list(DTYPES_CHECKED)


def check_forward(impl, contract, entry, dtype: str, device: str, sample: Sample) -> None:
    forward = impl.get(entry.forward_name)
    sample = sample.astype(dtype)
    given_arrays = sample.array_copies()
    outputs, _ = run_forward(entry, forward, sample, arrays=given_arrays, contract=contract)
    tensors = sample.tensors(device)
    expected = run_twin(entry, tensors, sample)
    for name, actual, wanted in zip(entry.outputs, outputs, expected):
        assert_close(entry, name, actual, wanted, sample, entry.tolerance(dtype))
    for name, array, tensor in zip(entry.array_args, given_arrays, tensors):
        if name not in entry.state_args or array is None:
            continue
        # A state array is updated whole; a state dict (a state_dict) in its buffers.
        updated = (
            {k: (array[k], tensor[k]) for k in array if is_buffer(k) and not is_counter(k)} if isinstance(array, dict) else {"": (array, tensor)}
        )
        for key, (ours, theirs) in updated.items():
            label = f"{name}['{key}']" if key else name
            assert_close(entry, f"{label} (updated in place)", ours, theirs, sample, entry.tolerance(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
@check_settings
@given(data=st.data())
def test_forward(impl, contract, entry, dtype, device, data):
    dtype_applies(entry, "forward", dtype)
    impl.get(entry.forward_name)
    sample = draw_sample(data, entry, impl)
    assume(entry.compares("forward", dtype, sample))
    check_forward(impl, contract, entry, dtype, device, sample)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("entry", "case"), edge_cases(ENTRIES), ids=edge_case_id)
def test_forward_edge_case(impl, contract, entry, case, dtype, device):
    dtype_applies(entry, "forward", dtype)
    impl.get(entry.forward_name)
    check_forward(impl, contract, entry, dtype, device, edge_sample(impl, entry, case))
