"""The --impl plug-in: partial implementations, --impl-strict, bad --impl values."""

from pathlib import Path

from gradparity.registry import LAYER_NAMES
from gradparity.summary import CHECKS

from .selftest import only_with_default_impl, run_suite

ONLY_CONV = str(Path(__file__).parent / "fixtures" / "only_conv.py")


def test_partial_module_reports_the_rest_not_implemented(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    run = run_suite(tmp_path, ONLY_CONV, "-k", "not known_bug and not plugin")
    assert run.returncode == 0, run.output[-3000:]
    assert run.table["conv2d"] == dict.fromkeys(CHECKS, "passed")
    for layer in LAYER_NAMES:
        if layer != "conv2d":
            assert run.table[layer] == dict.fromkeys(CHECKS, "not implemented"), (layer, run.table[layer])


def test_strict_fails_what_is_not_implemented(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    run = run_suite(tmp_path, ONLY_CONV, "--impl-strict", "--layer", "max_pool2d")
    assert run.returncode == 1, run.output[-3000:]
    assert run.table["max_pool2d"] == dict.fromkeys(CHECKS, "FAILED")
    assert "not implemented" in run.output


def test_dotted_module_name_is_accepted(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    run = run_suite(tmp_path, "tests.fixtures.only_conv", "--layer", "conv2d", "-k", "errors")
    assert run.returncode == 0, run.output[-3000:]
    assert run.table["conv2d"]["errors"] == "passed"


def test_missing_module_is_a_usage_error(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    run = run_suite(tmp_path, "no_such_module_anywhere")
    assert run.returncode == 4  # pytest's exit code for a usage error
    assert "--impl no_such_module_anywhere" in run.output
