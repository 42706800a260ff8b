"""Notebooks as implementations: the imports and definitions of the code cells load, the
rest (test calls, plots, magics) does not run, a broken cell is reported by its number,
and the course's helper modules are supplied when they are not beside the notebook."""

import json
import subprocess
import sys

import nbformat
import pytest

from gradparity.notebook import load_notebook

from .selftest import suite_env

RELU = '''
def relu_forward(x):
    out = np.maximum(x, 0)
    return out, x

def relu_backward(dout, cache):
    return dout * (cache > 0)
'''


def write_notebook(path, *cells: tuple[str, str]) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source) for kind, source in cells]
    nbformat.write(notebook, str(path))


def test_only_imports_and_definitions_load(tmp_path):
    path = tmp_path / "assignment.ipynb"
    write_notebook(
        path,
        ("markdown", "# My layers"),
        ("code", "import numpy as np\n%matplotlib inline\nfrom public_tests import *\nfrom dnn_utils import sigmoid"),
        ("code", RELU),
        ("code", "np.random.seed(1)\nx = np.random.randn(3)\nout, _ = relu_forward(x)\nrelu_forward_test(relu_forward)\nraise SystemExit('a test cell ran')"),
        ("code", "def broken(:\n    pass"),
        ("code", "import a_module_nobody_has\n\ndef still_defined(z):\n    return sigmoid(z)[0]"),
    )
    module = load_notebook(path, "notebook_under_test", "assignment.ipynb")
    load = module.__gradparity_load__
    assert load.functions == ["relu_forward", "relu_backward", "still_defined"]
    assert [number for number, _ in load.failed_cells] == [5, 6]
    assert load.failed_cells[0][1].startswith("SyntaxError") and "ModuleNotFoundError" in load.failed_cells[1][1]
    assert load.supplied_helpers == ["dnn_utils"]
    assert abs(module.still_defined(0.0) - 0.5) < 1e-12  # the supplied sigmoid returns (A, Z), as the course's
    notes = load.notes()
    assert "assignment.ipynb cell 5 did not load: SyntaxError" in notes[0]
    assert "gradparity supplied the course's standard helpers" in notes[-1]


@pytest.mark.slow  # starts the command
def test_a_notebook_is_checked_from_the_command(tmp_path):
    path = tmp_path / "layers.ipynb"
    write_notebook(path, ("code", "import numpy as np"), ("code", RELU), ("code", "print(relu_forward(np.ones(2)))"), ("code", "import not_here"))
    done = subprocess.run(
        [sys.executable, "-m", "gradparity", "check", "layers.ipynb", "--layer", "relu", "--json", "report.json"],
        cwd=tmp_path, env=suite_env(), capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["layers"]["relu"]["forward"] == "passed"
    assert report["loading"] == ["layers.ipynb cell 4 did not load: ModuleNotFoundError: No module named 'not_here'"]
    assert "note: layers.ipynb cell 4 did not load" in done.stdout
