"""CS231n's style: a learner's layers.py, rnn_layers.py and layer_utils.py, written in the
course's conventions, checked function by function against PyTorch.

A complete implementation of our own in the course's style passes ``gradparity check`` (the
command, three files merged); each wrong one (``fixtures/courses/cs231n/bugs``: the good
modules with one function rewritten with a classic mistake) fails on the rows its
``BUG`` names, in the checks it names, with a message that names the cause. The runs use
the ci profile's examples (the bugs without shrinking, ``ci-noshrink``: a verdict, fast)."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import reference
from gradparity import styles
from gradparity.implementation import load_one
from gradparity.registry import BY_NAME
from gradparity.styles import cs231n
from gradparity.styles.cs231n.dropout import DROP, KEEP, dropout_meaning
from gradparity.styles.cs231n.norms import groupnorm_gamma_shape

from .selftest import SuiteRun, only_with_default_impl, run_suite, suite_env, write_module

FIXTURES = Path(__file__).parent / "fixtures" / "courses" / "cs231n"
COURSE_FILES = ("layers.py", "rnn_layers.py", "layer_utils.py")
BUGS = sorted((FIXTURES / "bugs").glob("*.py"))
BINDINGS = cs231n.STYLE.bindings()
# One row per function the learner wrote, in the course's names.
ROWS = list(dict.fromkeys(name for binding in BINDINGS if binding.group in COURSE_FILES for name in (binding.forward, binding.backward) if name))


def passed(cells: dict[str, str]) -> bool:
    """Whether a row of the JSON report passed every check that applies: all but errors,
    which the table shows as n/a for a course's functions (and the JSON, as yet, as '-')."""
    return {verdict for check, verdict in cells.items() if check != "errors"} <= {"passed"}


def course_folder(tmp_path: Path, *extra: Path) -> Path:
    """The learner's folder: the three course files, and ``extra`` modules beside them."""
    folder = tmp_path / "cs231n"
    folder.mkdir(parents=True, exist_ok=True)
    for path in (*(FIXTURES / name for name in COURSE_FILES), *extra):
        shutil.copy(path, folder / path.name)
    return folder


@contextmanager
def loaded(path: Path) -> Iterator[ModuleType]:
    """``path`` imported as the loader does (its folder on sys.path, for its sibling
    imports), and the folder and the siblings gone again afterwards."""
    before, modules = list(sys.path), set(sys.modules)
    try:
        yield load_one(str(path))
    finally:
        sys.path[:] = before
        for name in set(sys.modules) - modules:
            del sys.modules[name]


def gradparity_check(folder: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    command = [sys.executable, "-m", "gradparity", "check", *args, "--json", "report.json"]
    done = subprocess.run(command, cwd=folder, env=suite_env(), capture_output=True, text=True, timeout=600)
    report_path = folder / "report.json"
    return done, json.loads(report_path.read_text()) if report_path.exists() else {}


@pytest.fixture(scope="module")
def complete(pytestconfig, tmp_path_factory) -> SuiteRun:
    """The checks (``--impl layers.py --impl rnn_layers.py --impl layer_utils.py``, ci
    profile) on the complete implementation, from its folder: one run that every test of
    the passing side reads. (The command itself is run on two of the files below.)"""
    only_with_default_impl(pytestconfig)
    tmp_path = tmp_path_factory.mktemp("complete")
    folder = course_folder(tmp_path)
    first, *others = COURSE_FILES
    return run_suite(tmp_path, first, *(arg for name in others for arg in ("--impl", name)), profile="ci", cwd=folder)


def passes_every_row(complete: SuiteRun) -> None:
    run, report = complete, complete.report
    assert run.returncode == 0, run.output[-4000:]
    assert list(report["layers"]) == ROWS
    wrong = {row: cells for row, cells in report["layers"].items() if not passed(cells)}
    assert not wrong, wrong
    # Every check that applies ran and passed: a forward's row shows forward and purity (of
    # both functions), a backward's backward and gradcheck; forward-only losses have no backward row.
    for row in ("affine_forward", "batchnorm_forward", "lstm_forward", "softmax_loss", "temporal_softmax_loss"):
        assert report["layers"][row]["forward"] == "passed" and report["layers"][row]["purity"] == "passed", row
    for row in ("affine_backward", "conv_backward_naive", "lstm_backward", "dropout_backward", "spatial_groupnorm_backward"):
        assert report["layers"][row] == {"backward": "passed", "gradcheck": "passed"}, row
    # Courses do not say what bad input raises: the table's errors column says n/a.
    lines = {line.split()[0]: line for line in report["table"][1 : 1 + len(ROWS)]}
    forward_rows = [row for row, cells in report["layers"].items() if "errors" in cells]
    assert forward_rows and all(lines[row].endswith("  n/a") for row in forward_rows), lines


def json_says_errors_n_a_as_the_table_does(complete: SuiteRun) -> None:
    report = complete.report
    assert report["layers"]["affine_forward"]["errors"] == "n/a"


def table_speaks_the_course_names_one_row_per_function(complete: SuiteRun) -> None:
    run, report = complete, complete.report
    names = [line.split()[0] for line in report["table"][1 : 1 + len(ROWS)]]
    assert names == ROWS
    assert names.count("batchnorm_forward") == 1  # batchnorm_backward_alt shares it, in a row of its own
    assert report["layers"]["batchnorm_backward_alt"] == {"backward": "passed", "gradcheck": "passed", "purity": "passed"}
    assert "conv_forward_naive  " in run.output and "lstm_step_backward  " in run.output


def report_says_why_cs231n_and_each_convention_applied(complete: SuiteRun) -> None:
    run, report = complete, complete.report
    assert report["style"] == "cs231n"
    assert "affine_forward(x, w, b)" in report["style_reason"] and "in the style of CS231n" in report["style_reason"]
    assert "style cs231n: it defines affine_forward(x, w, b)" in run.output
    conventions = "\n".join(report["conventions"])
    for said in (
        "w of shape (D, M), the transpose of PyTorch's Linear weight",
        "bn_param['momentum'] is the weight of the old running value",
        "running_var takes the biased batch variance",
        "averaged over the N examples",
        "multi_margin_loss (margin 1) times C",
        "gates in the order i, f, o, g (PyTorch's: i, f, g, o)",
        "the one bias b is PyTorch's b_ih + b_hh",
        "lstm_forward starts from c0 = 0",
        "divided by N, not by the number of unmasked steps",
        "spatial_groupnorm_forward: gamma and beta passed of shape (1, C, 1, 1), as its docstring says",
        "dropout_param['p'] read as the probability of keeping a unit: its docstring says so",
        "(H - pool_height) % stride == 0",
        "batchnorm_backward_alt: checked on batchnorm_forward's cache",
    ):
        assert said in conventions, said
    assert all(f"note: {note}" in run.output for note in report["conventions"])


def course_left_outs_are_said_with_why_in_the_report_not_the_table(complete: SuiteRun) -> None:
    run, report = complete, complete.report
    assert report["left_out"] == {}  # the complete implementation has all its course has
    assert "(without " not in run.output and not [line for line in report["table"] if " without " in line]
    left_out = report["outside_the_course"]
    assert list(left_out["conv_forward_naive"]) == ["pair arguments", "string padding", "dilation", "groups", "bias=None"]
    assert "the data holds no ties" in left_out["max_pool_forward_naive"]["tied maxima"]
    assert left_out["max_pool_forward_naive"]["padding"] == "max_pool_forward_naive has no padding"
    assert left_out["dropout_forward"]["a given mask"].startswith("dropout_forward draws its own mask")
    assert "bidirectional" in left_out["lstm_forward"] and "several layers" in left_out["rnn_forward"]


def test_a_complete_implementation_passes_every_row_and_the_report_says_why(complete):
    """One test reads the one run (a module fixture would run again on each xdist worker)."""
    for check in (
        passes_every_row, json_says_errors_n_a_as_the_table_does, table_speaks_the_course_names_one_row_per_function,
        report_says_why_cs231n_and_each_convention_applied, course_left_outs_are_said_with_why_in_the_report_not_the_table,
    ):
        check(complete)


# -------------------------------------------------------------------- wrong ones


def bug_rows(bug: dict) -> list[str]:
    """The rows a bug's run checks: its rows and their pairs (the other function of each
    binding), so that a mistake is seen to stay on its own rows."""
    rows = [
        name
        for binding in BINDINGS
        if {binding.forward, binding.backward} & set(bug["rows"])
        for name in (binding.forward, binding.backward)
        if name
    ]
    return list(dict.fromkeys(rows))


def declared_bug(path: Path) -> dict:
    """A bug module's ``BUG``, read without importing it (it imports the course files beside it)."""
    tree = ast.parse(path.read_text())
    return next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "BUG")


def test_there_are_enough_wrong_implementations():
    assert len(BUGS) >= 8
    for path in BUGS:
        bug = declared_bug(path)
        assert set(bug["rows"]) <= set(ROWS) and set(bug["checks"]) <= {"forward", "backward", "gradcheck", "purity"}, path.name
        assert bug["says"], path.name


@pytest.mark.parametrize("module", BUGS, ids=lambda p: p.stem)
def test_a_wrong_implementation_fails_on_its_rows_naming_the_cause(pytestconfig, tmp_path, module):
    only_with_default_impl(pytestconfig)
    folder, bug = course_folder(tmp_path, module), declared_bug(module)
    rows = bug_rows(bug)
    run = run_suite(tmp_path, str(folder / module.name), *(arg for row in rows for arg in ("--layer", row)), profile="ci-noshrink")

    assert run.returncode == 1, f"{module.stem}: exited {run.returncode}, should fail\n{run.output[-3000:]}"
    assert run.report["style"] == "cs231n"
    for row in bug["rows"]:
        caught = [check for check in bug["checks"] if run.table[row].get(check) == "FAILED"]
        assert caught, f"{module.stem}: {row} did not fail in {bug['checks']}: {run.table[row]}"
    for check in bug["checks"]:
        assert any(run.table[row].get(check) == "FAILED" for row in bug["rows"]), f"{module.stem}: no {check} failure: {run.table}"
    untouched = {row: cells for row, cells in run.table.items() if row not in bug["rows"] and "FAILED" in cells.values()}
    assert not untouched, f"{module.stem}: rows it does not touch failed: {untouched}"
    messages = [failure["message"] for failure in run.report["failures"] if failure["layer"] in bug["rows"]]
    assert any(bug["says"] in message for message in messages), f"{module.stem}: no message says {bug['says']!r}:\n" + "\n---\n".join(messages)


# ------------------------------------------------------------------------ dropout


def function_with(docstring: str):
    def dropout_forward(x, dropout_param):
        return x, None

    dropout_forward.__doc__ = docstring
    return dropout_forward


@pytest.mark.parametrize(
    ("docstring", "meaning"),
    [
        ("- p: Dropout parameter. We drop each neuron output with probability p.\n- mode: 'test' or 'train'.", DROP),
        ("- p: Dropout parameter. We keep each neuron output with probability p.\nNOTE 2: Keep in mind that p is the "
         "probability of **keep** a neuron output", KEEP),
        ("Forward pass for inverted dropout.\nHere, p is the probability of keeping a neuron output, as opposed to\n"
         "the probability of dropping a neuron output.", KEEP),
        ("p: drop probability", DROP),
        ("Dropout, with a mask the same shape as x.", KEEP),
    ],
    ids=["2017", "2018", "2020", "learner's words", "silent"],
)
def test_the_meaning_of_dropout_p_is_read_from_the_docstring(docstring, meaning):
    found, why = dropout_meaning(function_with(docstring))
    assert found == meaning
    assert ("assumed" in why) == (docstring.startswith("Dropout, with"))


def test_a_silent_docstring_falls_back_on_the_scaling_in_the_code(tmp_path):
    silent = write_module(tmp_path, "silent.py", """
        import numpy as np

        def dropout_forward(x, dropout_param):
            p = dropout_param["p"]
            mask = (np.random.rand(*x.shape) >= p) / (1 - p)
            return x * mask, (dropout_param, mask)
    """)
    with loaded(silent) as module:
        found, why = dropout_meaning(module.dropout_forward)
    assert found == DROP and "its code scales by 1 / (1 - p)" in why


def test_dropout_of_the_2017_assignment_passes_and_the_report_says_p_was_read_as_the_drop_probability(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    folder = course_folder(tmp_path, FIXTURES / "dropout_2017.py")
    run = run_suite(tmp_path, str(folder / "dropout_2017.py"), "--layer", "dropout_forward", "--layer", "dropout_backward", profile="ci")
    assert run.returncode == 0, run.output[-3000:]
    assert set(run.table) == {"dropout_forward", "dropout_backward"}
    assert all(passed(cells) for cells in run.table.values()), run.table
    assert any("dropout_param['p'] read as the probability of dropping a unit: its docstring says so, as in the 2017 assignment" in note for note in run.report["conventions"])


# ---------------------------------------------------------------------- detection


def test_complete_course_modules_are_cs231n_and_the_reference_is_not():
    for name in COURSE_FILES:
        with loaded(FIXTURES / name) as module:
            style, why = styles.detect(module)
        assert style == "cs231n" and "in the style of CS231n" in why, (name, why)
    assert styles.detect(reference)[0] == styles.SPEC
    # The API's own names with the API's parameters tell nothing: relu, dropout's backward.
    assert not {"relu_forward", "relu_backward", "dropout_backward"} & set(cs231n.SIGNATURES)


def test_groupnorm_gamma_shape_follows_the_docstring():
    def old(x, gamma, beta, G, gn_param):
        """- gamma: Scale parameter, of shape (C,)"""

    def new(x, gamma, beta, G, gn_param):
        """- gamma: Scale parameter, of shape (1, C, 1, 1)"""

    def silent(x, gamma, beta, G, gn_param): ...

    assert groupnorm_gamma_shape(old)[0] == "(C,)"
    assert groupnorm_gamma_shape(new)[0] == "(1, C, 1, 1)"
    assert groupnorm_gamma_shape(silent) == ("(1, C, 1, 1)", "as the course's notebooks pass them (its docstring does not say)")


@pytest.mark.slow  # starts the command
def test_check_of_layers_and_rnn_layers_checks_both_files(pytestconfig, tmp_path):
    """The command as the issue gives it: two files merged, rnn_layers.py star-importing layers.py
    (layers.py's functions in both: the same ones, not two definitions)."""
    only_with_default_impl(pytestconfig)
    rows = ("affine_forward", "affine_backward", "temporal_affine_forward", "temporal_affine_backward")
    done, report = gradparity_check(course_folder(tmp_path), "layers.py", "rnn_layers.py", *(arg for row in rows for arg in ("--layer", row)), "--profile", "ci")
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["implementation"] == "layers.py, rnn_layers.py" and list(report["layers"]) == list(rows)
    assert all(passed(cells) for cells in report["layers"].values()), report["layers"]


@pytest.mark.slow  # starts the command
def test_a_star_import_of_the_sibling_layers_is_not_a_conflict(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    folder = course_folder(tmp_path)
    write_module(folder, "rnn_star.py", "from layers import *  # noqa: F403\nfrom rnn_layers import rnn_step_backward, rnn_step_forward  # noqa: F401\n")
    done, _ = gradparity_check(folder, "layers.py", "rnn_star.py", "--layer", "relu_forward", "--profile", "ci")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_forward_whose_backward_is_not_written_yet_is_adapted_alone():
    """A forward the learner wrote before its backward: its binding is made without a backward
    (the forward's row is checked, purity included; the backward's row says not implemented)."""
    with loaded(FIXTURES / "layers.py") as layers, loaded(FIXTURES / "rnn_layers.py") as rnn_layers, loaded(FIXTURES / "layer_utils.py") as utils:
        written = {name: value for module in (utils, rnn_layers, layers) for name, value in vars(module).items() if not name.startswith("_")}
    for binding in BINDINGS:
        # A PyTorch module's backward is its autograd: never written, never missing.
        if binding.forward is None or binding.backward is None or binding.autograd:
            continue
        module = ModuleType("forward_only")
        vars(module).update({name: value for name, value in written.items() if name != binding.backward})
        assert binding.defined_by(module), binding.forward
        forward, backward = binding.make(module)
        assert callable(forward) and backward is None, binding.forward


def test_values_of_the_learner_s_loss_are_taken_as_numbers():
    """A loss returned as a Python float is the course's way: the adapter takes it as a 0-d array."""
    binding = next(b for b in BINDINGS if b.forward == "svm_loss")
    module = type(sys)("learner")
    module.svm_loss = lambda x, y: (float(np.sum(x)), np.ones_like(x))
    forward, backward = binding.make(module)
    loss, dx, cache = forward(np.ones((2, 3)), np.array([0, 1]))
    assert backward is None and cache is None and loss.shape == () and loss.dtype == np.float64


def test_every_binding_says_what_it_leaves_out_and_collides_with_no_api_layer():
    names = [binding.entry.name for binding in BINDINGS]
    assert len(names) == len(set(names))
    # A course-layout pair under an API name would be called as the API's by the API's own
    # checks (dropout's mask check, the model checks): only relu, whose pair is the API's.
    assert set(names) & set(BY_NAME) == {"relu"}
    for binding in BINDINGS:
        # Every feature the entry could draw is one the course's function cannot take.
        assert {feature.name for feature in binding.entry.features} <= set(binding.left_out), binding.entry.name
        assert binding.entry.skipped_entirely("forward", "float32") is not None, binding.entry.name  # float64 only, as the course computes


# --------------------------------------------- optim.py and transformer_layers.py

OPTIM_BUGS = sorted((FIXTURES / "optim_bugs").glob("*.py"))
OPTIM_ROWS = [binding.function for binding in cs231n.STYLE.optimizer_bindings()]
TRANSFORMER_BUGS = sorted((FIXTURES / "transformer_bugs").glob("*.py"))
ATTENTION_ROWS = ["MultiHeadAttention.forward", "MultiHeadAttention (autograd)"]


def run_file_alone(pytestconfig, tmp_path: Path, course_file: str, module: Path | None = None, profile: str = "ci") -> SuiteRun:
    """The checks on one course file (or on ``module``, a bug beside it that imports it),
    from the learner's folder."""
    only_with_default_impl(pytestconfig)
    folder = tmp_path / "cs231n"
    folder.mkdir()
    for path in (FIXTURES / course_file, *([module] if module else [])):
        shutil.copy(path, folder / path.name)
    return run_suite(tmp_path, (module or FIXTURES / course_file).name, profile=profile, cwd=folder)


def fails_saying(run: SuiteRun, module: Path, bug: dict) -> None:
    assert run.returncode == 1, f"{module.stem}: exited {run.returncode}, should fail\n{run.output[-3000:]}"
    for row in bug["rows"]:
        assert [check for check in bug["checks"] if run.table[row].get(check) == "FAILED"], (module.stem, row, run.table[row])
    untouched = {row: cells for row, cells in run.table.items() if row not in bug["rows"] and "FAILED" in cells.values()}
    assert not untouched, f"{module.stem}: rows it does not touch failed: {untouched}"
    messages = [failure["message"] for failure in run.report["failures"]]
    assert any(bug["says"] in message for message in messages), f"{module.stem}: no message says {bug['says']!r}:\n" + "\n---\n".join(messages)


def test_optim_py_passes_every_rule_as_torch_optim_and_says_how(pytestconfig, tmp_path):
    """optim.py's update rules, checked as optimizers: trajectory passed; purity and errors
    n/a (the rules update what they are given, by the course's design)."""
    run = run_file_alone(pytestconfig, tmp_path, "optim.py")
    assert run.returncode == 0, run.output[-4000:]
    assert run.report["style"] == "cs231n"
    assert list(run.report["layers"]) == OPTIM_ROWS == ["sgd", "sgd_momentum", "rmsprop", "adam"]
    for row, cells in run.report["layers"].items():
        assert cells == {"trajectory": "passed", "purity": "n/a", "errors": "n/a"}, (row, cells)
    conventions = " ".join(run.report["conventions"])
    assert "t is incremented before use" in conventions and "v = -learning_rate * its buffer" in conventions


def test_multi_head_attention_passes_against_nn_multihead_attention(pytestconfig, tmp_path):
    """The learner's PyTorch module, loaded with the drawn weights: forward, and backward by
    its own autograd; gradcheck and purity n/a (they would test PyTorch and the adapter)."""
    run = run_file_alone(pytestconfig, tmp_path, "transformer_layers.py")
    assert run.returncode == 0, run.output[-4000:]
    assert run.report["style"] == "cs231n" and list(run.report["layers"]) == ATTENTION_ROWS
    assert run.report["layers"]["MultiHeadAttention.forward"] == {"forward": "passed", "purity": "n/a", "errors": "n/a"}
    assert run.report["layers"]["MultiHeadAttention (autograd)"] == {"backward": "passed", "gradcheck": "n/a"}
    assert "attn_mask (S, T) keeps a key where it is 1" in " ".join(run.report["conventions"])


def test_there_are_wrong_update_rules_and_attentions():
    assert len(OPTIM_BUGS) >= 3 and len(TRANSFORMER_BUGS) >= 3
    for path in OPTIM_BUGS:
        bug = declared_bug(path)
        assert set(bug["rows"]) <= set(OPTIM_ROWS) and bug["checks"] == ["trajectory"] and bug["says"], path.name
    for path in TRANSFORMER_BUGS:
        bug = declared_bug(path)
        assert set(bug["rows"]) <= set(ATTENTION_ROWS) and set(bug["checks"]) <= {"forward", "backward"} and bug["says"], path.name


@pytest.mark.parametrize(
    ("course_file", "module"),
    [("optim.py", path) for path in OPTIM_BUGS] + [("transformer_layers.py", path) for path in TRANSFORMER_BUGS],
    ids=lambda value: value.stem if isinstance(value, Path) else value,
)
def test_a_wrong_update_rule_or_attention_fails_on_its_rows_naming_the_cause(pytestconfig, tmp_path, course_file, module):
    fails_saying(run_file_alone(pytestconfig, tmp_path, course_file, module, profile="ci-noshrink"), module, declared_bug(module))
