"""Learner-sized implementations are judged on what they implement: optional features
their forward does not take, or whose probe raises, are left out of the draws and
reported; every real mismatch within the rest still fails the run."""

import re
from pathlib import Path

import numpy as np

import reference
from gradparity.features import unsupported_features
from gradparity.registry import REGISTRY

from .selftest import only_with_default_impl, run_suite

FIXTURES = Path(__file__).parent / "fixtures"
CONV_LEFT_OUT = ["pair arguments", "string padding", "dilation", "groups", "bias=None"]


def test_the_reference_supports_every_feature():
    for entry in REGISTRY:
        forward, backward = getattr(reference, entry.forward_name), getattr(reference, entry.backward_name)
        assert unsupported_features(entry, forward, backward) == {}, entry.name


def same_call(a, b) -> bool:
    def same(x, y):
        if isinstance(x, dict) or isinstance(y, dict):
            return isinstance(x, dict) and isinstance(y, dict) and x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
        if x is None or y is None:
            return x is y
        return np.shape(x) == np.shape(y) and np.array_equal(x, y)

    return a.kwargs == b.kwargs and a.no_upstream == b.no_upstream and a.arrays.keys() == b.arrays.keys() and all(same(a.arrays[k], b.arrays[k]) for k in a.arrays)


def test_every_feature_probe_changes_the_plain_call():
    for entry in REGISTRY:
        for feature in entry.features:
            if feature.probe is not None:
                plain = entry.plain_call()
                assert not same_call(feature.probe(plain), plain), (entry.name, feature.name)


def test_learner_sized_conv_fails_on_its_one_bug_alone(pytestconfig, tmp_path):
    """Loops, int stride and padding only, and ``dx = dxp[:, :, p:-p, p:-p]``, empty at p = 0."""
    only_with_default_impl(pytestconfig)
    run = run_suite(tmp_path, str(FIXTURES / "learner_conv.py"), "--layer", "conv2d")
    assert run.returncode == 1, run.output[-3000:]
    assert run.table["conv2d"] == {"forward": "passed", "backward": "FAILED", "gradcheck": "FAILED", "purity": "passed", "errors": "passed"}
    left_out = run.report["left_out"]["conv2d"]
    assert list(left_out) == CONV_LEFT_OUT
    assert left_out["dilation"] == "conv2d_forward takes no 'dilation' argument"
    assert left_out["bias=None"].startswith("conv2d_forward raised TypeError")
    # The one real bug, and nothing else: the dx.shape message in both columns that run the backward.
    messages = {(f["check"], f["message"].splitlines()[0]) for f in run.report["failures"]}
    assert {check for check, _ in messages} == {"backward", "gradcheck"}, messages
    for _, first_line in messages:
        assert re.fullmatch(r"conv2d: dx\.shape=\(\d+, \d+, 0, 0\), but should be \(\d+, \d+, \d+, \d+\)", first_line), first_line
    row = next(line for line in run.report["table"] if line.startswith("conv2d "))
    assert f"passed (without {', '.join(CONV_LEFT_OUT)})" in row


def test_full_api_draws_every_feature(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    run = run_suite(tmp_path, str(FIXTURES / "learner_conv.py"), "--layer", "conv2d", "--full-api", "-k", "forward")
    assert run.returncode == 1, run.output[-3000:]
    assert run.table["conv2d"]["forward"] == "FAILED"
    assert "left_out" not in run.report or not run.report["left_out"]


def test_learner_sized_max_pool_passes_without_what_it_leaves_out(pytestconfig, tmp_path):
    """Int kernel and stride only: padding, dilation and ceil mode are never drawn for it
    (it would raise TypeError on them), and what it does take is checked."""
    only_with_default_impl(pytestconfig)
    run = run_suite(tmp_path, str(FIXTURES / "learner_pool.py"), "--layer", "max_pool2d", "-k", "not errors")
    assert run.returncode == 0, run.output[-3000:]
    assert set(run.report["left_out"]["max_pool2d"]) == {"pair arguments", "padding", "ceil_mode", "dilation"}
    assert run.table["max_pool2d"]["backward"] == "passed"
