"""The registry holds itself to the reference: every layer pair has an entry and every entry
a pair, an entry's arguments agree with the reference's signatures, its strategy draws only
the reference's parameters, its skips are well formed, and its bad calls make the twin
raise too, or the entry says why the API is stricter than PyTorch."""

import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gradparity import api
from gradparity.bad_calls import positional
from gradparity.registry import BY_NAME, DTYPES_CHECKED, REGISTRY, discover_families
from gradparity.summary import CHECKS


def test_every_reference_pair_has_an_entry_and_every_entry_a_pair():
    pairs, entries = set(api.layer_names()), set(BY_NAME)
    assert not pairs - entries, f"reference pairs without a registry entry: {sorted(pairs - entries)}"
    assert not entries - pairs, f"registry entries without a reference pair: {sorted(entries - pairs)}"


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.name)
def test_entry_arguments_agree_with_the_reference_signature(entry):
    forward = api.parameters(entry.forward_name)
    if entry.signature is not None:
        assert entry.signature == forward, f"{entry.name}: signature {entry.signature}, but the reference's is {forward}"
    else:
        assert forward[: len(entry.array_args)] == entry.array_args, f"{entry.name}: array_args {entry.array_args} do not open {forward}"
    assert set(entry.array_args) <= set(forward)
    assert set(entry.gradient_args) <= set(entry.array_args) and set(entry.state_args) <= set(entry.array_args)
    backward = api.parameters(entry.backward_name)
    assert backward == (*(f"d{name}" for name in entry.outputs), "cache"), f"{entry.name}: outputs {entry.outputs}, backward {backward}"
    for feature in entry.features:
        assert feature.parameter is None or feature.parameter in forward, (entry.name, feature.name)


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.name)
@settings(max_examples=10, deadline=None, database=None)
@given(data=st.data())
def test_strategies_draw_the_reference_parameters(entry, data):
    sample = data.draw(entry.samples(for_gradcheck=data.draw(st.booleans())))
    forward = api.parameters(entry.forward_name)
    assert tuple(sample.arrays) == entry.array_args
    assert set(sample.kwargs) <= set(forward) - set(entry.array_args), f"{entry.name}: {sorted(sample.kwargs)} not all in {forward}"


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.name)
def test_skips_name_real_checks_and_dtypes_and_say_why(entry):
    for skip in entry.skips:
        assert skip.check in (None, *CHECKS) and skip.dtype in (None, *DTYPES_CHECKED) and len(skip.reason) > 20, (entry.name, skip)


def twin_arguments(value):
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, dict):
        return {key: twin_arguments(array) for key, array in value.items()}
    return value


CASES = [(entry, error) for entry in REGISTRY for error in entry.error_inputs]


@pytest.mark.parametrize(("entry", "error"), CASES, ids=[f"{e.name}-{err.description}" for e, err in CASES])
def test_bad_calls_are_tried_on_the_twin_too(entry, error):
    args = [twin_arguments(value) for value in positional(entry.forward_name, error.arrays, error.kwargs)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            entry.twin(*args)
    except Exception:
        assert error.description not in entry.stricter_than_pytorch, f"{entry.name}: the twin rejects {error.description!r} now: drop its reason"
        return
    assert error.description in entry.stricter_than_pytorch, (
        f"{entry.name}: PyTorch accepts {error.description!r}; say in stricter_than_pytorch why the API rejects it"
    )


def test_stricter_than_pytorch_names_real_bad_calls():
    for entry in REGISTRY:
        assert set(entry.stricter_than_pytorch) <= {error.description for error in entry.error_inputs}, entry.name


def test_a_family_module_dropped_into_the_package_is_found(tmp_path, monkeypatch):
    package = tmp_path / "families"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_helpers.py").write_text("X = 1\n")
    (package / "new_family.py").write_text("ENTRIES = ('an entry',)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import families

    assert [module.ENTRIES for module in discover_families(families)] == [("an entry",)]
    (package / "broken_family.py").write_text(textwrap.dedent("ENTRY = 'a typo'\n"))
    with pytest.raises(TypeError, match="broken_family: a family module must define ENTRIES"):
        discover_families(families)
    sys.modules.pop("families", None)
