"""The Deep Learning Specialization's style (``gradparity.styles.dls``): the course's
functions, written as learners write them, checked against PyTorch in the course's own
conventions.

- A complete implementation of each assignment (Course 1 week 4, Course 4 week 1, Course 5
  week 1: ``tests/fixtures/courses/dls``) passes, row by row in the course's names, and the
  report names the conventions the adapter applied and why the style was chosen.
- Each wrong one (``bugs/``: one classic mistake each, the wrong function alone, put in
  place of its namesake in the complete assignment; its ``BUG`` dict says where) fails
  in the rows it names, with the hint that names the cause.
- Notebooks written the way the course's are (test cells, plots, the course's helper
  modules, a cell that does not load) are checked function by function.

Every run uses the ci profile (derandomized), one process, outside the checkout.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

import reference
from gradparity.styles import detect
from gradparity.styles.dls import STYLE

from .selftest import only_with_default_impl, run_suite, suite_env, write_module

FIXTURES = Path(__file__).parent / "fixtures" / "courses" / "dls"
BUGS = sorted((FIXTURES / "bugs").glob("*.py"))
PASSED_OR_NOT_APPLICABLE = {"passed", "n/a"}

# The rows each assignment's functions fill, in the course's names.
COURSE_ROWS = {
    "course1_dnn": [
        "linear_forward", "linear_backward",
        "linear_activation_forward (relu)", "linear_activation_backward (relu)",
        "linear_activation_forward (sigmoid)", "linear_activation_backward (sigmoid)",
        "compute_cost", "L_model_forward", "L_model_backward", "update_parameters",
    ],
    "course2_optim": ["update_parameters_with_gd", "update_parameters_with_momentum", "update_parameters_with_adam"],
    "course4_conv": [
        "zero_pad", "conv_single_step", "conv_forward", "conv_backward",
        "pool_forward (max)", "pool_backward (max)", "pool_forward (average)", "pool_backward (average)",
        "create_mask_from_window", "distribute_value",
    ],
    "course5_rnn": [
        "rnn_cell_forward", "rnn_cell_backward", "rnn_forward", "rnn_backward",
        "lstm_cell_forward", "lstm_cell_backward", "lstm_forward", "lstm_backward",
    ],
    "course5_transformer": ["scaled_dot_product_attention"],
}


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"dls_fixture_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bug_of(path: Path) -> dict:
    """The fixture's ``BUG``: the rows and checks that must fail, the words its failure
    message must hold, and rows that must still pass (``also_run``)."""
    tree = ast.parse(path.read_text())
    return next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "BUG")


def own_rows(table: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The rows of the functions a module defines (the others read 'not implemented')."""
    return {row: cells for row, cells in table.items() if set(cells.values()) != {"not implemented"}}


def verdicts(report: dict) -> dict[str, dict[str, str]]:
    """Each row's verdicts, the errors cell as the printed table shows it: n/a on a course's
    forward rows (no test fills that cell), where the JSON report's layers show none ('-')."""
    header, *lines = report["table"]
    columns = header.split()[1:]
    name_width, errors_start = header.index(columns[0]), header.index("errors")
    after = columns[columns.index("errors") + 1 :]
    errors_end = header.index(after[0]) if after else None
    printed = {line[:name_width].strip(): line[errors_start:errors_end].strip() for line in lines}
    return {row: {**cells, **({"errors": printed.get(row, "")} if "errors" in cells else {})} for row, cells in report["layers"].items()}


@pytest.mark.parametrize("name", list(COURSE_ROWS))
def test_a_complete_assignment_passes_row_by_row_and_the_report_says_why(pytestconfig, tmp_path, name):
    """Each complete assignment, checked once (auto style, ci profile); one test reads the
    run, so that xdist spreads the three assignments over its workers."""
    only_with_default_impl(pytestconfig)
    run = run_suite(tmp_path, str(FIXTURES / f"{name}.py"), profile="ci")
    report_names_the_style_why_and_every_convention_applied(name, run)
    assert run.returncode == 0, run.output[-4000:]
    rows = verdicts(run.report)
    assert list(rows) == COURSE_ROWS[name]  # and none of the other assignments' rows
    for row, cells in rows.items():
        assert set(cells.values()) <= PASSED_OR_NOT_APPLICABLE, (row, cells)
        assert "passed" in cells.values(), (row, cells)
    # Courses do not specify what bad input raises: the errors column reads n/a.
    assert {cells["errors"] for cells in rows.values() if "errors" in cells} == {"n/a"}


def test_a_function_that_checks_its_input_gets_the_errors_column_checked(pytestconfig, tmp_path):
    """n/a unless the learner's function raises a ValueError or TypeError of its own."""
    only_with_default_impl(pytestconfig)
    checking = (FIXTURES / "course4_conv.py").read_text().replace(
        "    (f, f, n_C_prev, n_C) = W.shape\n",
        "    (f, f, n_C_prev, n_C) = W.shape\n"
        "    if A_prev.shape[3] != n_C_prev:\n"
        "        raise ValueError(f'conv_forward: A_prev has {A_prev.shape[3]} channels, W expects {n_C_prev}')\n",
        1,
    )
    assert "raise ValueError" in checking
    path = write_module(tmp_path / "learner", "conv_checked.py", checking)
    run = run_suite(tmp_path, str(path), "--layer", "conv_forward", "--layer", "pool_forward (max)", profile="ci")
    assert run.returncode == 0, run.output[-4000:]
    printed = verdicts(run.report)
    assert printed["conv_forward"]["errors"] == "passed" and printed["pool_forward (max)"]["errors"] == "n/a", printed


# The conventions that differ from PyTorch on purpose, each said.
CONVENTIONS_SAID = {
    "course1_dnn": (
        "multiplies them by m",  # the cost's 1/m folded into dW and db
        "divides it by m",  # dA0 is the summed loss's gradient
        "dA1 for X",  # the old gradient keys
        "purity column does not judge it",  # update_parameters in place
    ),
    "course2_optim": ("learning_rate * (1 - beta) as its lr", "dampening=beta differs on the first step", "t counted from 1"),
    "course4_conv": ("every tied maximum", "left out of the draws", "channels last"),
    "course5_rnn": ("c0 = 0", "[a_prev; xt]", "dWu", "'calculated elsewhere'"),
    "course5_transformer": ("1 keeps a key and 0 masks it", "(1 - mask) * -1e9"),
}


def report_names_the_style_why_and_every_convention_applied(name: str, run) -> None:
    report = run.report
    assert report["style"] == "dls"
    assert "in the style of the Deep Learning Specialization" in report["style_reason"]
    module = load(FIXTURES / f"{name}.py")
    bindings = (*STYLE.bindings(), *STYLE.optimizer_bindings())
    expected = [note for binding in bindings if binding.defined_by(module) for note in binding.notes(module)]
    assert report["conventions"] == list(dict.fromkeys(expected)), name
    conventions = " ".join(report["conventions"])
    for said in CONVENTIONS_SAID[name]:
        assert said in conventions, said
    assert all(f"note: {note}" in run.output for note in report["conventions"])


def test_detection_chooses_dls_for_the_course_modules_only():
    for name in COURSE_ROWS:
        style, why = detect(load(FIXTURES / f"{name}.py"))
        assert style == "dls", (name, why)
        assert "in the style of the Deep Learning Specialization" in why
    # The API's own reference shares names with the course (linear_forward, rnn_forward,
    # lstm_backward, ...), with other parameters: it is the API's.
    assert detect(reference)[0] == "spec"
    # Course names with other parameters are not the course's (CS231n's rnn_forward takes
    # Wx, Wh, b; lowercase learner names are not DLS's).
    assert detect(load(Path(__file__).parent / "fixtures" / "course_names.py"))[0] != "dls"


# ------------------------------------------------------------------------------ the bugs


def course_of(path: Path) -> str:
    return next(name for name, rows in COURSE_ROWS.items() if bug_of(path)["rows"][0] in rows)


def bug_groups() -> list[tuple[Path, ...]]:
    """The bugs, at most one per course in a run: the courses' functions have distinct names,
    so the modules merge (--impl repeated), and a run's start-up is shared."""
    by_course = [[path for path in BUGS if course_of(path) == name] for name in COURSE_ROWS]
    return [tuple(paths[index] for paths in by_course if index < len(paths)) for index in range(max(map(len, by_course)))]


def test_there_are_enough_wrong_implementations():
    assert len(BUGS) >= 8
    for path in BUGS:
        bug = bug_of(path)
        assert bug["rows"] and bug["checks"] and bug["message"], path.name
    assert sorted(path for group in bug_groups() for path in group) == BUGS


def assignment_with(bug: Path, folder: Path) -> Path:
    """The bug's assignment as the learner's notebook holds it: the complete one, with the
    bug's function(s) in place of its own, in one module (so that its callers call them),
    written to ``folder`` under the bug's name."""
    course = FIXTURES / f"{course_of(bug)}.py"
    lines, source = course.read_text().splitlines(), bug.read_text()
    wrong = {node.name: ast.get_source_segment(source, node) for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)}
    spans = [(node.lineno, node.end_lineno, node.name) for node in ast.parse(course.read_text()).body if isinstance(node, ast.FunctionDef) and node.name in wrong]
    assert len(spans) == len(wrong), f"{bug.name}: defines a function {course.name} does not"
    for start, end, name in sorted(spans, reverse=True):
        lines[start - 1 : end] = [wrong[name]]
    path = folder / bug.name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("group", bug_groups(), ids=lambda group: "+".join(path.stem for path in group))
def test_a_classic_course_mistake_fails_in_its_rows_with_its_hint(pytestconfig, tmp_path, group):
    only_with_default_impl(pytestconfig)
    bugs = {path.stem: bug_of(path) for path in group}
    rows = [row for bug in bugs.values() for row in (*bug["rows"], *bug.get("also_run", []))]
    (tmp_path / "learner").mkdir()
    first, *others = (assignment_with(path, tmp_path / "learner") for path in group)
    extra = [argument for path in others for argument in ("--impl", str(path))]
    layers = [argument for row in rows for argument in ("--layer", row)]
    run = run_suite(tmp_path, str(first), *extra, "--impl-style", "dls", *layers, profile="ci")
    assert run.returncode == 1, run.output[-4000:]
    failing = {row for bug in bugs.values() for row in bug["rows"]}
    for name, bug in bugs.items():
        for row in bug["rows"]:
            for check in bug["checks"]:
                assert run.table[row][check] == "FAILED", (name, row, check, run.table[row])
            messages = [failure["message"] for failure in run.report["failures"] if failure["layer"] == row]
            assert any(bug["message"] in message for message in messages), (name, row, [m.splitlines()[:3] for m in messages])
        for row in bug.get("also_run", []):
            assert "passed" in run.table[row].values(), (name, row, run.table[row])
    for row, cells in run.table.items():
        if row not in failing:
            assert "FAILED" not in cells.values(), (row, cells)


def test_max_pool_ties_are_left_out_of_the_draws_because_the_course_sends_the_gradient_to_each():
    """The course's pool_backward adds dA to every tied maximum of a window (its mask is
    x == np.max(x)); PyTorch gives it to the first one only. Both are right by their own
    convention; a DLS max pool is therefore never drawn with tied maxima (nor given the
    API's tied edge cases), and the untied draws still cover the course's corners."""
    course = load(FIXTURES / "course4_conv.py")
    x = np.array([[1.0, 3.0], [3.0, 0.0]]).reshape(1, 2, 2, 1)  # one 2x2 window, its maximum twice
    A, cache = course.pool_forward(x, {"f": 2, "stride": 2}, "max")
    course_grad = course.pool_backward(np.ones_like(A), cache, "max")
    assert course_grad.ravel().tolist() == [0.0, 1.0, 1.0, 0.0]  # both maxima
    tensor = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    torch.nn.functional.max_pool2d(tensor, 2, 2).sum().backward()
    assert tensor.grad.numpy().ravel().tolist() == [0.0, 1.0, 0.0, 0.0]  # the first only

    binding = next(b for b in STYLE.bindings() if b.forward == "pool_forward (max)")
    entry, features = binding.entry, frozenset()
    assert entry.edge_cases and all(case.make().values == "distinct" for case in entry.edge_cases)
    seen = {"pad": set(), "window as large as the input": False, "H != W": False, "batch 1": False, "values": set()}

    @settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.filter_too_much])
    @given(entry.samples(for_gradcheck=False, features=features))
    def never_tied(sample):
        x = sample.arrays["x"]
        f, stride = sample.kwargs["kernel_size"], sample.kwargs["stride"]
        windows = np.lib.stride_tricks.sliding_window_view(x, (f, f), axis=(2, 3))[:, :, ::stride, ::stride]
        flat = windows.reshape(*windows.shape[:4], -1)
        assert ((flat == flat.max(axis=-1, keepdims=True)).sum(axis=-1) == 1).all(), sample
        assert sample.kwargs["padding"] == 0 and isinstance(f, int) and isinstance(stride, int)
        seen["values"].add(sample.values)
        seen["window as large as the input"] |= f == min(x.shape[2:])
        seen["H != W"] |= x.shape[2] != x.shape[3]
        seen["batch 1"] |= x.shape[0] == 1

    never_tied()
    assert seen["window as large as the input"] and seen["H != W"] and seen["batch 1"], seen
    assert "distinct" in seen["values"]  # the tie-heavy draws, untied


# --------------------------------------------------------------------------- notebooks

SETUP = {
    "course1_dnn": [
        "import numpy as np\nimport h5py\nimport matplotlib.pyplot as plt\nfrom testCases import *\n"
        "from dnn_utils import sigmoid, sigmoid_backward, relu, relu_backward\nfrom public_tests import *\n\n"
        "%matplotlib inline\nplt.rcParams['figure.figsize'] = (5.0, 4.0)\n\n%load_ext autoreload\n%autoreload 2\n\nnp.random.seed(1)",
    ],
    "course4_conv": [
        "import numpy as np\nimport h5py\nimport matplotlib.pyplot as plt\nfrom public_tests import *\n\n%matplotlib inline\n"
        "plt.rcParams['figure.figsize'] = (5.0, 4.0)\n\n%load_ext autoreload\n%autoreload 2\n\nnp.random.seed(1)",
    ],
    "course5_rnn": ["import numpy as np\nfrom rnn_utils import *\nfrom public_tests import *"],
}
# What the course's test cells do after a function: build inputs, call it, print, assert.
TEST_CELLS = {
    "zero_pad": "np.random.seed(1)\nx = np.random.randn(4, 3, 3, 2)\nx_pad = zero_pad(x, 3)\nprint('x.shape =', x.shape)\n"
    "fig, axarr = plt.subplots(1, 2)\naxarr[0].imshow(x[0, :, :, 0])\nzero_pad_test(zero_pad)",
    "conv_forward": "np.random.seed(1)\nA_prev = np.random.randn(2, 5, 7, 4)\nW = np.random.randn(3, 3, 4, 8)\nb = np.random.randn(1, 1, 1, 8)\n"
    "hparameters = {'pad': 1, 'stride': 2}\nZ, cache_conv = conv_forward(A_prev, W, b, hparameters)\nprint('Z mean =', np.mean(Z))\nconv_forward_test_1(Z, cache_conv)",
    "linear_forward": "t_A, t_W, t_b = linear_forward_test_case()\nt_Z, t_linear_cache = linear_forward(t_A, t_W, t_b)\nprint('Z = ' + str(t_Z))\n"
    "linear_forward_test(linear_forward)",
    "L_model_backward": "t_AL, t_Y_assess, t_caches = L_model_backward_test_case()\ngrads = L_model_backward(t_AL, t_Y_assess, t_caches)\nprint_grads(grads)",
    "lstm_cell_forward": "np.random.seed(1)\nxt_tmp = np.random.randn(3, 10)\na_prev_tmp = np.random.randn(5, 10)\nc_prev_tmp = np.random.randn(5, 10)\n"
    "parameters_tmp = {}\nparameters_tmp['Wf'] = np.random.randn(5, 5 + 3)\nlstm_cell_forward_test(lstm_cell_forward)",
}
# Versions of the course's functions before 2021, as learners wrote them: L_model_backward's
# dA keys one higher (dA1 is the gradient of X), update_parameters rebinding the keys of the
# dict it is given.
OLD_VERSIONS = {
    "L_model_backward": '''
def L_model_backward(AL, Y, caches):
    grads = {}
    L = len(caches)
    m = AL.shape[1]
    Y = Y.reshape(AL.shape)
    dAL = - (np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    current_cache = caches[L-1]
    grads["dA" + str(L)], grads["dW" + str(L)], grads["db" + str(L)] = linear_activation_backward(dAL, current_cache, activation = "sigmoid")
    for l in reversed(range(L-1)):
        current_cache = caches[l]
        dA_prev_temp, dW_temp, db_temp = linear_activation_backward(grads["dA" + str(l + 2)], current_cache, activation = "relu")
        grads["dA" + str(l + 1)] = dA_prev_temp
        grads["dW" + str(l + 1)] = dW_temp
        grads["db" + str(l + 1)] = db_temp
    return grads
''',
    "update_parameters": '''
def update_parameters(parameters, grads, learning_rate):
    L = len(parameters) // 2
    for l in range(L):
        parameters["W" + str(l+1)] = parameters["W" + str(l+1)] - learning_rate * grads["dW" + str(l+1)]
        parameters["b" + str(l+1)] = parameters["b" + str(l+1)] - learning_rate * grads["db" + str(l+1)]
    return parameters
''',
}
# The helpers a notebook imports from the course's modules, not defined in its cells.
HELPERS = {"sigmoid", "relu", "sigmoid_backward", "relu_backward", "softmax"}
# Course 4's backward section is optional (ungraded): this learner has not written it.
UNWRITTEN = {"course4_conv": {"conv_backward", "pool_backward"}}
NOTEBOOKS = {
    "course1_dnn": "Building_your_Deep_Neural_Network_Step_by_Step.ipynb",
    "course4_conv": "Convolution_model_Step_by_Step.ipynb",
    "course5_rnn": "Building_a_Recurrent_Neural_Network_Step_by_Step.ipynb",
}


def functions_of(path: Path) -> dict[str, str]:
    """The source of each function a fixture module defines, in order."""
    text = path.read_text()
    tree = ast.parse(text)
    return {node.name: ast.get_source_segment(text, node) or "" for node in tree.body if isinstance(node, ast.FunctionDef)}


def with_update_gate_u(source: str) -> str:
    """An LSTM function as the published versions that name the update gate u write it."""
    for old, new in (('["Wi"]', '["Wu"]'), ('["bi"]', '["bu"]'), ('"dWi"', '"dWu"'), ('"dbi"', '"dbu"')):
        source = source.replace(old, new)
    return source


def write_notebook(folder: Path, name: str) -> tuple[Path, dict[str, int]]:
    """The assignment's notebook: setup cells, then per function a markdown cell, the
    learner's graded cell and (for some) the course's test cell; a scratch cell with a
    syntax error after the first function. Returns its path and the cell number (from 1)
    of the failing cells."""
    cells = [nbformat.v4.new_markdown_cell(f"# {NOTEBOOKS[name].removesuffix('.ipynb').replace('_', ' ')}")]
    cells += [nbformat.v4.new_code_cell(source) for source in SETUP[name]]
    failing = {"setup": 2}
    for number, (function, source) in enumerate(functions_of(FIXTURES / f"{name}.py").items()):
        if function in HELPERS or function in UNWRITTEN.get(name, ()):
            continue
        source = OLD_VERSIONS.get(function, source).strip() if name == "course1_dnn" else source
        source = with_update_gate_u(source) if function.startswith("lstm") else source
        cells.append(nbformat.v4.new_markdown_cell(f"### Exercise {number} - {function}"))
        cells.append(nbformat.v4.new_code_cell(f"# GRADED FUNCTION: {function}\n\n{source}"))
        if function in TEST_CELLS:
            cells.append(nbformat.v4.new_code_cell(TEST_CELLS[function]))
        if "syntax" not in failing:
            cells.append(nbformat.v4.new_code_cell("# scratch\ndef try_it(:\n    pass"))
            failing["syntax"] = len(cells)
    path = folder / NOTEBOOKS[name]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    return path, failing


@pytest.mark.slow  # starts the command
@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_a_course_notebook_is_checked_function_by_function(pytestconfig, tmp_path, name):
    only_with_default_impl(pytestconfig)
    folder = tmp_path / "assignment"
    folder.mkdir()
    notebook, failing = write_notebook(folder, name)
    report_path = tmp_path / "report.json"
    command = [sys.executable, "-m", "gradparity", "check", notebook.name, "--profile", "ci", "--json", str(report_path)]
    done = subprocess.run(command, cwd=folder, env=suite_env(), capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    report = json.loads(report_path.read_text())
    assert report["style"] == "dls", report["style_reason"]
    rows = own_rows(verdicts(report))
    unwritten = [row for row in COURSE_ROWS[name] if row.split(" ")[0] in UNWRITTEN.get(name, ())]
    assert list(rows) == [row for row in COURSE_ROWS[name] if row not in unwritten]
    for row, cells in rows.items():
        # A forward is checked before its backward is written, its purity alone.
        assert set(cells.values()) <= PASSED_OR_NOT_APPLICABLE, (row, cells)
    assert all(set(report["layers"][row].values()) == {"not implemented"} for row in unwritten)
    assert all(row in " ".join(report["table"]) for row in unwritten)  # the 'not implemented:' line
    # The cells that did not load, by number, with their errors; the rest loaded.
    loading = report["loading"]
    assert any(f"cell {failing['syntax']} did not load: SyntaxError" in note for note in loading), loading
    if name != "course5_rnn":
        assert any(f"cell {failing['setup']} did not load: ModuleNotFoundError: No module named 'h5py'" in note for note in loading), loading
    helper = {"course1_dnn": "dnn_utils", "course5_rnn": "rnn_utils"}.get(name)
    if helper:
        assert any(f"imports {helper}, not found beside it: gradparity supplied the course's standard helpers" in note for note in loading), loading
    assert all(f"note: {note}" in output for note in loading)
