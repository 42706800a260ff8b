"""The model checks catch wrong models, naming the model and what differs: mistakes in how
layers are composed (tests/known_model_bugs.py) and wrong residual blocks inside ResNets
(the block known bugs of tests/known_bugs/, run as the implementation of the model)."""

import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from gradparity.model_cases import BY_NAME, load_twin_state
from gradparity.model_checks import build_pair, compare_models

from .known_model_bugs import MODEL_BUGS

BLOCK_BUGS = sorted(
    p for p in (Path(__file__).parent / "known_bugs").glob("*.py")
    if not p.name.startswith("_") and runpy.run_path(str(p))["BUG"]["layer"] in ("basic_block", "bottleneck")
)


@pytest.mark.parametrize("bug", MODEL_BUGS, ids=lambda b: b.name)
def test_model_bug_is_caught(bug):
    case = BY_NAME[bug.case]
    twin, _ = build_pair(case, None, "float64")
    wrong = load_twin_state(bug.build(**bug.options), twin, np.dtype("float64"))
    inputs = case.make_inputs(np.random.default_rng(0))
    with pytest.raises(AssertionError) as caught:
        compare_models(case, twin, wrong, inputs, training=False, dtype="float64")
    assert f"{case.name}: {bug.expected}" in str(caught.value), str(caught.value)


@pytest.mark.parametrize("module", BLOCK_BUGS, ids=lambda p: p.stem)
def test_block_bug_is_caught_inside_a_resnet(module):
    bug = SimpleNamespace(**runpy.run_path(str(module)))
    case = BY_NAME["ResNet-18-cifar" if bug.BUG["layer"] == "basic_block" else "ResNet-50-layout"]
    twin, model = build_pair(case, SimpleNamespace(**{k: v for k, v in vars(bug).items() if not k.startswith("__")}), "float64")
    with pytest.raises(AssertionError) as caught:
        compare_models(case, twin, model, case.make_inputs(np.random.default_rng(0)), training=True, dtype="float64")
    assert str(caught.value).startswith(f"{case.name}: "), str(caught.value)
