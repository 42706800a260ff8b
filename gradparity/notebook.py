"""Load a Jupyter notebook as an implementation: the imports and function definitions of its
code cells, and nothing else.

A course notebook mixes the learner's functions with cells that run them on test data,
call the course's test helpers, plot and train. The loader keeps each code cell's
top-level imports, function and class definitions and executes them in order into one
module; expression statements, assignments, loops and the like are left out. IPython
magics (``%matplotlib inline``, ``!pip ...``) are dropped. A cell that fails to load is
reported by its number with its error, and the other cells still load. Imports of the
courses' test helpers (``testCases``, ``public_tests``, ...) are skipped. A helper module
the notebook imports (``dnn_utils``, ``rnn_utils``, ...) is taken from beside the
notebook when it is there; when it is not, the standard helpers the course provides are
supplied, and the report says so.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

# The courses' test helpers: importing them only serves the notebook's own test cells.
TEST_HELPERS = ("testCases", "testCases_v2", "testCases_v3", "testCases_v4", "testCases_v4a", "public_tests", "test_utils", "outputs")

# The helpers the courses ship beside their notebooks, as the course defines them (our own
# code): supplied when the notebook imports them and the file is not beside it.
STANDARD_HELPERS = {
    "dnn_utils": '''
        import numpy as np

        def sigmoid(Z):
            A = 1 / (1 + np.exp(-Z))
            return A, Z

        def relu(Z):
            return np.maximum(0, Z), Z

        def sigmoid_backward(dA, cache):
            s = 1 / (1 + np.exp(-cache))
            return dA * s * (1 - s)

        def relu_backward(dA, cache):
            return np.where(cache > 0, dA, 0.0)
    ''',
    "rnn_utils": '''
        import numpy as np

        def softmax(x):
            e_x = np.exp(x - np.max(x, axis=0, keepdims=True))
            return e_x / e_x.sum(axis=0, keepdims=True)

        def sigmoid(x):
            return 1 / (1 + np.exp(-x))
    ''',
}
STANDARD_HELPERS["dnn_utils_v2"] = STANDARD_HELPERS["dnn_utils"]

KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass
class NotebookLoad:
    """What loading a notebook did, for the report."""

    path: str
    functions: list[str] = field(default_factory=list)
    failed_cells: list[tuple[int, str]] = field(default_factory=list)  # (cell number, error)
    supplied_helpers: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        lines = [f"{self.path} cell {number} did not load: {error}" for number, error in self.failed_cells]
        if self.supplied_helpers:
            lines.append(f"{self.path} imports {', '.join(self.supplied_helpers)}, not found beside it: gradparity supplied the course's standard helpers")
        return lines


def _without_magics(source: str) -> str:
    """The cell's Python: IPython magics and shell escapes commented out (line numbers kept)."""
    lines = source.splitlines()
    return "\n".join(f"# {line}" if line.lstrip().startswith(("%", "!")) or line.rstrip().endswith("?") else line for line in lines)


def _imports_test_helper(node: ast.stmt) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] in TEST_HELPERS
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] in TEST_HELPERS for alias in node.names)
    return False


def _imported_modules(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module.split(".")[0]]
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    return []


def _supply_helper(name: str, folder: Path, load: NotebookLoad) -> None:
    """The course's standard helper ``name``, when the notebook's folder has none."""
    if name not in STANDARD_HELPERS or name in sys.modules or (folder / f"{name}.py").exists():
        return
    helper = ModuleType(name, f"gradparity's stand-in for the course's {name}")
    exec(compile(textwrap.dedent(STANDARD_HELPERS[name]), f"<gradparity {name}>", "exec"), helper.__dict__)
    sys.modules[name] = helper
    load.supplied_helpers.append(name)


def load_notebook(path: Path, module_name: str, label: str) -> ModuleType:
    """A module with the imports and definitions of the notebook's code cells."""
    import nbformat  # only for notebooks

    notebook = nbformat.read(str(path), as_version=4)
    folder = path.parent
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))  # helper modules beside the notebook
    module = ModuleType(module_name, f"the definitions of {label}")
    module.__file__ = str(path)
    sys.modules[module_name] = module
    load = NotebookLoad(label)
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(_without_magics(cell.source))
        except SyntaxError as error:
            load.failed_cells.append((number, f"SyntaxError: {error.msg} (line {error.lineno})"))
            continue
        for node in tree.body:
            if not isinstance(node, KEPT) or _imports_test_helper(node):
                continue
            for name in _imported_modules(node):
                _supply_helper(name, folder, load)
            try:
                exec(compile(ast.Module([node], type_ignores=[]), f"{label} (cell {number})", "exec"), module.__dict__)
            except Exception as error:  # one broken statement must not stop the others
                if not any(failed == number for failed, _ in load.failed_cells):
                    load.failed_cells.append((number, f"{type(error).__name__}: {error}"))
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                load.functions.append(node.name)
    module.__gradparity_load__ = load  # type: ignore[attr-defined]
    return module
