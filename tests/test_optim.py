"""The optimizer entries against the reference's steps and torch.optim: every ``*_step`` of
the reference has an entry, the entry's options are the step's parameters in the SPEC's
order with the same defaults, and those defaults are torch.optim's. (The steps' values
are the trajectory checks' to compare: ``gradparity/checks/test_trajectory.py``.)"""

import inspect

import pytest

import reference
from gradparity import api
from gradparity.optimizers import BY_NAME, ENTRIES


def test_every_reference_step_has_an_entry():
    assert set(api.optimizer_names()) == set(BY_NAME)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_entry_options_are_the_steps_parameters(entry):
    parameters = inspect.signature(getattr(reference, entry.step_name)).parameters
    names = list(parameters)
    assert names[:3] == ["params", "grads", "state"]
    assert tuple(names[3:]) == entry.options
    declared = {name: p.default for name, p in parameters.items() if p.default is not inspect.Parameter.empty}
    assert declared == entry.defaults


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_spec_defaults_are_torch_optims(entry):
    torch_defaults = inspect.signature(entry.torch_class).parameters
    for name, value in entry.defaults.items():
        assert torch_defaults[name].default == value, (entry.name, name)
