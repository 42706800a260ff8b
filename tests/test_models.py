"""The reference's whole models themselves: per-layer summaries against torchinfo's, the
full-size ResNet-50 loading a torchvision-layout state_dict, LeNet-5's option checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchinfo

from gradparity.model_cases import CASES
from gradparity.model_checks import build_pair


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_summary_matches_torchinfo(case):
    twin, model = build_pair(case, None, "float64")
    inputs = case.make_inputs(np.random.default_rng(0))
    stats = torchinfo.summary(twin, **case.summary_input(inputs), dtypes=[torch.float64], verbose=0, device="cpu")
    theirs = [(layer.class_name, tuple(layer.output_size), layer.num_params) for layer in stats.summary_list if layer.is_leaf_layer and not layer.is_recursive]
    ours = [(row.kind, row.output_shape, row.num_params) for row in model.summary(*case.numpy_summary_args(inputs))]
    assert ours == theirs, f"{case.name}: summary differs from torchinfo's\n  ours:   {ours}\n  theirs: {theirs}"
    assert sum(v.size for v in model.named_parameters().values()) == stats.trainable_params



def test_resnet50_loads_a_torchvision_layout_state_dict():
    """The full-size ResNet-50: the twin's state_dict (torchvision's keys) loads unchanged."""
    import torch_impl.models as torch_models
    from reference import models

    state = {key: value.numpy() for key, value in torch_models.resnet50().state_dict().items()}
    model = models.resnet50()
    model.load_state_dict(state)
    assert set(model.params) == set(state)
    # torchvision's hallmarks: projection only in each stage's first block, fc 2048 -> 1000.
    assert "layer1.0.downsample.0.weight" in state and "layer1.1.downsample.0.weight" not in state
    assert state["fc.weight"].shape == (1000, 2048) and len(state) == 320


def test_lenet5_options_are_checked_on_both_sides():
    import torch_impl.models as torch_models
    from reference import models

    for build in (models.LeNet5, torch_models.LeNet5):
        with pytest.raises(ValueError, match="LeNet5: argument 'input_size'"):
            build(input_size=64)
        with pytest.raises(ValueError, match="LeNet5: argument 'activation'"):
            build(activation="sigmoid")
