"""The ``gradparity`` command, run from a folder outside the checkout as a learner runs it."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gradparity import api

from .selftest import suite_env, write_module

pytestmark = pytest.mark.slow  # each test starts the command in a process of its own

FIXTURES = Path(__file__).parent / "fixtures"


def gradparity(folder: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "gradparity", *args]
    return subprocess.run(command, cwd=folder, env=suite_env(), capture_output=True, text=True, timeout=600)


def test_list_shows_every_layer_with_its_signatures(tmp_path):
    done = gradparity(tmp_path, "list")
    assert done.returncode == 0, done.stderr
    for layer in api.layer_names():
        assert f"\n{layer}\n" in done.stdout
    assert "conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> (out, cache)" in done.stdout
    assert "conv2d_backward(dout, cache) -> (dx, dweight, dbias)" in done.stdout
    assert "lstm_forward(x, h0, c0, params, num_layers=1, bidirectional=False, lengths=None) -> (output, h_n, c_n, cache)" in done.stdout
    assert "optional: pair arguments, string padding, dilation, groups, bias=None" in done.stdout
    for name in api.optimizer_names():
        assert f"\n{name}\n  {name}_step(params, grads, state, " in done.stdout
    assert "adam_step(params, grads, state, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0, amsgrad=False, maximize=False) -> (new_params, new_state)" in done.stdout


def test_check_prints_the_table_and_one_line_per_failure(tmp_path):
    (tmp_path / "my_layers.py").write_text((FIXTURES / "learner_conv.py").read_text())
    done = gradparity(tmp_path, "check", "my_layers.py", "--layer", "conv2d")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "gradparity: my_layers.py"
    assert any(line.startswith("conv2d  passed (without pair arguments") and " FAILED " in line for line in lines)
    assert "conv2d without dilation: conv2d_forward takes no 'dilation' argument" in lines
    failures = [line for line in lines if line.startswith("  conv2d backward:") or line.startswith("  conv2d gradcheck:")]
    assert len(failures) == 2 and all("dx.shape=(" in line and "but should be" in line for line in failures), failures
    # What a learner does not need: pytest's own report.
    assert "=====" not in done.stdout and "passed in" not in done.stdout and "Falsifying example" not in done.stdout
    assert "Run with -v" in done.stdout


def test_check_only_runs_the_checks_it_names(tmp_path):
    (tmp_path / "my_layers.py").write_text((FIXTURES / "learner_conv.py").read_text())
    done = gradparity(tmp_path, "check", "my_layers.py", "--layer", "conv2d", "--check-only", "forward", "--check-only", "purity", "-n", "0")
    assert done.returncode == 0, done.stdout + done.stderr  # its wrong backward is not looked at
    row = next(line for line in done.stdout.splitlines() if line.startswith("conv2d "))
    cells = re.split(r"\s{2,}", row.strip())[1:]  # forward, backward, gradcheck, purity, errors
    assert [cell.split(" ")[0] for cell in cells] == ["passed", "-", "-", "passed", "-"], row
    refused = gradparity(tmp_path, "check", "my_layers.py", "--check-only", "speed")
    assert refused.returncode == 2 and "invalid choice: 'speed'" in refused.stderr, refused.stderr


def test_check_verbose_prints_the_full_messages(tmp_path):
    (tmp_path / "my_layers.py").write_text((FIXTURES / "learner_conv.py").read_text())
    done = gradparity(tmp_path, "check", "my_layers.py", "--layer", "conv2d", "-v", "--profile", "ci")
    assert done.returncode == 1
    assert "call: conv2d_forward(x=float64(" in done.stdout
    assert "e.g. for x with the wrong channel count" in done.stdout  # an advisory's example


def test_check_of_course_names_exits_5_with_the_closest_api_names(tmp_path):
    (tmp_path / "assignment.py").write_text((FIXTURES / "course_names.py").read_text())
    done = gradparity(tmp_path, "check", "assignment.py")
    assert done.returncode == 5, done.stdout + done.stderr
    assert "defines none of the API's layer functions" in done.stderr
    assert "conv_forward -> conv2d_forward" in done.stderr


def test_check_of_a_complete_layer_passes_and_writes_json(tmp_path):
    write_module(tmp_path, "act.py", "from reference import relu_backward, relu_forward  # noqa: F401\n")
    done = gradparity(tmp_path, "check", "act.py", "--layer", "relu", "-n", "2", "--json", "report.json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["layers"]["relu"] == dict.fromkeys(["forward", "backward", "gradcheck", "purity", "errors"], "passed")
    assert report["failures"] == [] and report["checked"]


def test_check_merges_files_and_names_both_on_a_conflict(tmp_path):
    write_module(tmp_path, "a.py", "from reference import relu_backward, relu_forward  # noqa: F401\n")
    write_module(tmp_path, "b.py", "def relu_forward(x):\n    return x, x\n")
    done = gradparity(tmp_path, "check", "a.py", "b.py")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "relu_forward is defined by both a.py and b.py" in done.stderr


def test_check_of_a_missing_file_is_a_usage_error(tmp_path):
    done = gradparity(tmp_path, "check", "nowhere.py")
    assert done.returncode == 2
    assert "no such file" in done.stderr and "Traceback" not in done.stderr


def test_version(tmp_path):
    done = gradparity(tmp_path, "--version")
    assert done.returncode == 0 and done.stdout.startswith("gradparity ")


def test_failures_show_one_line_per_cell_and_every_distinct_message_with_v(capsys):
    from gradparity.cli import _print_report

    def failure(check: str, shape: str) -> dict:
        return {"layer": "conv2d", "check": check, "message": f"conv2d: dx.shape={shape}, but should be (2, 3, 4, 4)\n  call: ...", "where": ""}

    failures = [failure("backward", "(2, 3, 0, 0)"), failure("backward", "(2, 3, 2, 2)"), failure("backward", "(2, 3, 0, 0)"), failure("gradcheck", "(2, 3, 0, 0)")]
    report = {"implementation": "my_layers.py", "table": ["layer  forward"], "failures": failures, "advisories": []}
    _print_report(report, verbose=False)
    lines = capsys.readouterr().out.splitlines()
    assert "4 failures, 2 shown:" in lines
    assert "  conv2d backward: dx.shape=(2, 3, 0, 0), but should be (2, 3, 4, 4) (and 2 more in this check)" in lines
    assert "  conv2d gradcheck: dx.shape=(2, 3, 0, 0), but should be (2, 3, 4, 4)" in lines
    _print_report(report, verbose=True)
    shown = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  conv2d ")]
    assert [line.split(",")[0] for line in shown] == ["  conv2d backward: dx.shape=(2", "  conv2d backward: dx.shape=(2", "  conv2d gradcheck: dx.shape=(2"]
    assert "(2, 3, 2, 2)" in shown[1] and "(and 1 more in this check)" in shown[0]
