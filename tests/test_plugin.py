"""The plug-in as users run it: --impl from any folder (space or = form, relative or
absolute, with or without -n), several files merged, partial modules, --impl-strict, and
runs that check nothing exiting non-zero."""

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gradparity.registry import LAYER_NAMES
from gradparity.summary import LAYER_CHECKS

from .selftest import ROOT, only_with_default_impl, run_suite, suite_env, write_module

FIXTURES = Path(__file__).parent / "fixtures"
ONLY_CONV = str(FIXTURES / "only_conv.py")
RELU = "from reference import relu_backward, relu_forward  # noqa: F401\n"


def entry_point_installed() -> bool:
    return any(ep.value == "gradparity.plugin" for ep in importlib.metadata.entry_points(group="pytest11"))


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """Plain ``pytest`` started in ``folder``: no conftest of this checkout, no -p: the
    plug-in comes from the installed entry point, as for a user."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=folder, env=suite_env(), capture_output=True, text=True, timeout=600)


def test_partial_module_reports_the_rest_not_implemented(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    run = run_suite(tmp_path, ONLY_CONV)
    assert run.returncode == 0, run.output[-3000:]
    assert run.table["conv2d"] == dict.fromkeys(LAYER_CHECKS, "passed")
    for layer in LAYER_NAMES:
        if layer != "conv2d":
            assert run.table[layer] == dict.fromkeys(LAYER_CHECKS, "not implemented"), (layer, run.table[layer])
    assert "not implemented: max_pool2d, avg_pool2d" in run.output


def test_strict_fails_what_is_not_implemented(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    run = run_suite(tmp_path, ONLY_CONV, "--impl-strict", "--layer", "max_pool2d")
    assert run.returncode == 1, run.output[-3000:]
    assert run.table["max_pool2d"] == dict.fromkeys(LAYER_CHECKS, "FAILED")
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


@pytest.mark.slow  # starts pytest in a process of its own
@pytest.mark.skipif(not entry_point_installed(), reason="needs gradparity installed (pip install -e .): its pytest11 entry point")
@pytest.mark.parametrize("form", ["--impl PATH", "--impl=PATH", "absolute"])
@pytest.mark.parametrize("workers", [None, "2"], ids=["one process", "-n 2"])
def test_impl_in_another_folder(pytestconfig, tmp_path, form, workers):
    """From a folder that is not the checkout, on a file in yet another folder: pytest's
    rootdir is the file's folder when --impl is unknown at start-up; it is known here."""
    only_with_default_impl(pytestconfig)
    layers = write_module(tmp_path / "course" / "week1", "my_layers.py", RELU)
    here = tmp_path / "elsewhere"
    here.mkdir()
    path = str(layers) if form == "absolute" else os.path.relpath(layers, here)
    impl = ["--impl", path] if form != "--impl=PATH" else [f"--impl={path}"]
    done = pytest_in(here, "--pyargs", "gradparity", *impl, "--layer", "relu", *(["-n", workers] if workers else []))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"^relu +passed +passed +passed +passed +passed$", done.stdout, flags=re.MULTILINE), done.stdout[-3000:]


@pytest.mark.slow  # starts pytest in a process of its own
@pytest.mark.skipif(not entry_point_installed(), reason="needs gradparity installed (pip install -e .): its pytest11 entry point")
def test_impl_without_any_check_collected_is_not_a_pass(pytestconfig, tmp_path):
    """`pytest --impl my_layers.py` in the learner's own folder collects none of the checks."""
    only_with_default_impl(pytestconfig)
    write_module(tmp_path, "my_layers.py", RELU)
    done = pytest_in(tmp_path, "--impl", "my_layers.py")
    assert done.returncode == 5, done.stdout[-3000:]
    assert "no gradparity check was collected" in done.stdout and "pytest --pyargs gradparity" in done.stdout


@pytest.mark.slow  # starts pytest in a process of its own
@pytest.mark.skipif(not entry_point_installed(), reason="needs gradparity installed (pip install -e .): its pytest11 entry point")
def test_other_pytest_runs_are_left_alone(pytestconfig, tmp_path):
    """Installed, the plug-in loads in every pytest run: a user's own tests keep their
    hypothesis settings and do not pay for torch."""
    only_with_default_impl(pytestconfig)
    write_module(tmp_path, "test_user.py", """
        import sys

        from hypothesis import settings

        def test_hypothesis_profile_is_untouched():  # its own "ci" where $CI is set
            assert settings.get_current_profile_name() in ("default", "ci")
            assert settings.default.max_examples == 100

        def test_torch_is_not_imported():
            assert "torch" not in sys.modules
    """)
    done = pytest_in(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "gradparity: reference" not in done.stdout  # no table: no checks ran


def test_a_module_of_course_names_checks_nothing_and_says_why(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    run = run_suite(tmp_path, str(FIXTURES / "course_names.py"))
    assert run.returncode == 5, run.output[-3000:]  # pytest's "no tests ran"
    assert "defines none of the API's layer functions" in run.report["nothing_checked"]
    assert "conv_forward -> conv2d_forward" in run.output
    assert "pool_forward -> max_pool2d_forward or avg_pool2d_forward" in run.output
    assert "affine_forward -> linear_forward" in run.output


def test_only_unselected_layers_check_nothing(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    run = run_suite(tmp_path, ONLY_CONV, "--layer", "relu")
    assert run.returncode == 5, run.output[-3000:]
    assert "implements conv2d, but no check of it ran" in run.output


def test_several_files_are_merged_in_order(pytestconfig, tmp_path):
    """`--impl layers.py --impl rnn_layers.py`, the second importing the first (as CS231n's
    rnn_layers.py does): the same function twice is not a conflict."""
    only_with_default_impl(pytestconfig)
    first = write_module(tmp_path / "impl", "layers.py", RELU)
    second = write_module(tmp_path / "impl", "rnn_layers.py", "from layers import *  # noqa: F403\nfrom reference import tanh_backward, tanh_forward  # noqa: F401\n")
    run = run_suite(tmp_path, str(first), "--impl", str(second), "--layer", "relu", "--layer", "tanh")
    assert run.returncode == 0, run.output[-3000:]
    assert run.table["relu"] == run.table["tanh"] == dict.fromkeys(LAYER_CHECKS, "passed")
    assert run.report["implementation"] == f"{first}, {second}"


def test_a_layer_defined_by_two_files_is_an_error_naming_both(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    first = write_module(tmp_path / "a", "mine.py", RELU)
    second = write_module(tmp_path / "b", "theirs.py", "def relu_forward(x):\n    return x * (x > 0), x\n")
    run = run_suite(tmp_path, str(first), "--impl", str(second))
    assert run.returncode == 4, run.output[-3000:]
    assert f"relu_forward is defined by both {first} and {second}" in run.output


def test_the_checkout_conftest_and_the_entry_point_are_one_plugin():
    """The entry point is named after the module, so the root conftest's
    ``pytest_plugins = ["gradparity.plugin"]`` does not register it twice."""
    assert 'pytest_plugins = ["gradparity.plugin"]' in (ROOT / "conftest.py").read_text()
    assert '"gradparity.plugin" = "gradparity.plugin"' in (ROOT / "pyproject.toml").read_text()


def test_skips_and_xfails_files_mark_unfinished_layers(pytestconfig, tmp_path):
    """array-api-tests' convention: one `layer` or `layer::check` a line, `#` comments."""
    only_with_default_impl(pytestconfig)
    learner_conv = str(FIXTURES / "learner_conv.py")
    xfails = write_module(tmp_path, "xfails.txt", "# the p = 0 case is on my list\nconv2d::backward\nconv2d::gradcheck  # the same bug\n")
    run = run_suite(tmp_path, learner_conv, "--layer", "conv2d", "--xfails-file", str(xfails))
    assert run.returncode == 0, run.output[-3000:]
    assert run.table["conv2d"] == {"forward": "passed", "backward": "xfailed", "gradcheck": "xfailed", "purity": "passed", "errors": "passed"}

    skips = write_module(tmp_path, "skips.txt", "conv2d\n")
    skipped = run_suite(tmp_path, learner_conv, "--layer", "conv2d", "--skips-file", str(skips))
    assert skipped.returncode == 5, skipped.output[-3000:]  # everything skipped: nothing checked
    assert set(skipped.table["conv2d"].values()) == {"skipped"}

    bad = write_module(tmp_path, "bad.txt", "conv2d::forwards\n")
    refused = run_suite(tmp_path, learner_conv, "--skips-file", str(bad))
    assert refused.returncode == 4 and f"{bad}:1: 'conv2d::forwards' is not 'layer' or 'layer::check'" in refused.output


def test_check_only_keeps_the_columns_it_names(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    run = run_suite(tmp_path, None, "--layer", "relu", "--check-only", "backward")
    assert run.returncode == 0, run.output[-3000:]
    assert run.table == {"relu": {"forward": "-", "backward": "passed", "gradcheck": "-", "purity": "-", "errors": "-"}}
    refused = run_suite(tmp_path, None, "--check-only", "speed")
    assert refused.returncode == 4 and "invalid choice: 'speed'" in refused.output, refused.output[-3000:]
