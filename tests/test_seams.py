"""The known bugs build on the reference through its public API and ``reference.seams`` only:
never its submodules, never a private name. Read off the source with ``ast``, so a bug that
reaches past the seam fails here, naming the module and the line."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import reference
from reference import seams

KNOWN_BUGS = sorted((Path(__file__).parent / "known_bugs").glob("*.py"))
# NamedTuple's own API, allowed on the caches and results the seam documents.
NAMEDTUPLE_ATTRIBUTES = {"_replace", "_fields", "_asdict", "_make", "_field_defaults"}
PACKAGE, SEAM, OBJECT = "the reference package", "reference.seams", "an object of the reference"


def _allowed_elsewhere(module: str) -> bool:
    """numpy, the standard library, and the known bugs' helpers (``tests.known_bugs._*``)."""
    top = module.split(".")[0]
    if top == "numpy" or top in sys.stdlib_module_names:
        return True
    return module == "tests.known_bugs" or module.startswith("tests.known_bugs._")


def _import_violations(node: ast.Import | ast.ImportFrom, where: str, bound: dict[str, str]) -> list[str]:
    """What is wrong with one import; records the names it binds to the reference in ``bound``."""
    public, seam_names = set(reference.__all__), set(seams.__all__)
    if isinstance(node, ast.Import):
        wrong = []
        for alias in node.names:
            if alias.name in ("reference", "reference.seams"):
                if alias.asname:
                    bound[alias.asname] = PACKAGE if alias.name == "reference" else SEAM
                else:
                    bound["reference"] = PACKAGE
            elif alias.name.startswith("reference.") or not _allowed_elsewhere(alias.name):
                wrong.append(f"{where}: 'import {alias.name}': only reference, reference.seams, numpy, the standard library and tests.known_bugs._*")
        return wrong
    if node.level:  # relative: a sibling helper only
        module = node.module or ""
        names = [alias.name for alias in node.names]
        if (module and module.startswith("_")) or (not module and all(name.startswith("_") for name in names)):
            return []
        return [f"{where}: 'from {'.' * node.level}{module} import ...': relative imports may name the _ helpers only"]
    module = node.module or ""
    if module == "reference":
        wrong = []
        for alias in node.names:
            if alias.name == "seams":
                bound[alias.asname or alias.name] = SEAM
            elif alias.name == "*" or alias.name in public:
                bound[alias.asname or alias.name] = OBJECT
            else:
                wrong.append(f"{where}: 'from reference import {alias.name}': not in reference.__all__ (nor reference.seams)")
                bound[alias.asname or alias.name] = OBJECT  # its private names are reported too
        bound.pop("*", None)
        return wrong
    if module == "reference.seams":
        wrong = []
        for alias in node.names:
            if alias.name != "*" and alias.name not in seam_names:
                wrong.append(f"{where}: 'from reference.seams import {alias.name}': not in reference.seams.__all__")
            bound[alias.asname or alias.name] = OBJECT
        bound.pop("*", None)
        return wrong
    if module.startswith("reference.") or not _allowed_elsewhere(module):
        return [f"{where}: 'from {module} import ...': only reference, reference.seams, numpy, the standard library and tests.known_bugs._*"]
    return []


def _kind(node: ast.expr, bound: dict[str, str]) -> str | None:
    """What ``node`` names: the package, the seam, another reference object, or None."""
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _kind(node.value, bound)
        if owner == PACKAGE and node.attr == "seams":
            return SEAM
        return None if owner is None else OBJECT  # e.g. seams.LSTMCell.step
    return None


def seam_violations(source: str, filename: str) -> list[str]:
    """Every import from outside the allowed sources and every private name taken from the
    reference in ``source``, as ``'filename:line: what'``."""
    tree = ast.parse(source, filename)
    bound: dict[str, str] = {}
    wrong = []
    imports = sorted((n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))), key=lambda n: n.lineno)
    for node in imports:
        wrong += _import_violations(node, f"{filename}:{node.lineno}", bound)
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Attribute):
            kind = _kind(node.value, bound)
            if kind is None:
                continue
            label = ast.unparse(node)
            if node.attr.startswith("_") and node.attr not in NAMEDTUPLE_ATTRIBUTES:
                wrong.append(f"{where}: '{label}' takes a private name from {kind}")
            elif kind == PACKAGE and node.attr not in {*reference.__all__, "seams"}:
                wrong.append(f"{where}: '{label}' is not in reference.__all__ (a submodule? use reference.seams)")
            elif kind == SEAM and node.attr not in seams.__all__:
                wrong.append(f"{where}: '{label}' is not in reference.seams.__all__")
        elif isinstance(node, ast.Call) and any(_kind(arg, bound) for arg in node.args):
            # mock.patch.object(module, "_name", ...), patch.multiple(module, _name=...), getattr(module, "_name")
            strings = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            private = [s for s in strings if s.startswith("_")] + [k.arg for k in node.keywords if k.arg and k.arg.startswith("_")]
            if private:
                wrong.append(f"{where}: '{ast.unparse(node.func)}(...)' names private {private} of the reference")
    return wrong


def test_there_are_known_bugs_and_helpers_to_check():
    assert len(KNOWN_BUGS) >= 10
    assert any(path.name.startswith("_") and path.name != "__init__.py" for path in KNOWN_BUGS)


@pytest.mark.parametrize("path", KNOWN_BUGS, ids=lambda p: p.stem)
def test_known_bug_uses_only_the_public_api_and_the_seam(path):
    wrong = seam_violations(path.read_text(), path.name)
    assert not wrong, "\n".join(wrong)


BAD_SNIPPETS = [
    ("from reference import conv", "bad.py:1: 'from reference import conv'"),
    ("import numpy as np\nfrom reference.rnn_cells import LSTMCell", "bad.py:2: 'from reference.rnn_cells import ...'"),
    ("from reference._windows import pad_spatial", "bad.py:1: 'from reference._windows import ...'"),
    ("import reference.pool", "bad.py:1: 'import reference.pool'"),
    ("import torch", "bad.py:1: 'import torch'"),
    ("from reference import seams\nx = seams._swapped", "bad.py:2: 'seams._swapped' takes a private name from reference.seams"),
    ("from reference import seams\nx = seams.sequence_forward.__wrapped__", "bad.py:2: 'seams.sequence_forward.__wrapped__'"),
    ("import reference\nreference.conv.correlate(1)", "bad.py:2: 'reference.conv' is not in reference.__all__"),
    ("import reference\nreference.seams._RESIDUAL_PIECES", "bad.py:2: 'reference.seams._RESIDUAL_PIECES' takes a private name"),
    ("from reference.seams import LSTMCell\nLSTMCell._secret", "bad.py:2: 'LSTMCell._secret' takes a private name"),
    ("from reference.seams import _swapped", "bad.py:1: 'from reference.seams import _swapped'"),
    ("from unittest import mock\nimport reference\nmock.patch.object(reference, '_x', 1)", "bad.py:3: 'mock.patch.object(...)' names private ['_x']"),
    ("from unittest import mock\nfrom reference import seams\nmock.patch.multiple(seams, _y=1)", "bad.py:3: 'mock.patch.multiple(...)' names private ['_y']"),
]


@pytest.mark.parametrize(("source", "expected"), BAD_SNIPPETS, ids=[s for s, _ in BAD_SNIPPETS])
def test_the_check_catches_a_reach_past_the_seam(source, expected):
    wrong = seam_violations(source, "bad.py")
    assert any(message.startswith(expected) for message in wrong), wrong


def test_the_check_accepts_what_the_known_bugs_may_use():
    source = """
import numpy as np
from unittest import mock
import reference
from reference import *  # noqa
from reference import conv2d_forward, seams
from reference.seams import Conv2dCache, residual_blocks_with
from tests.known_bugs._recurrent_bugs import lstm_forward_with
from ._batch_norm_bugs import biased

def f(x, cache):
    out, c = reference.conv2d_forward(x, np.ones(1))
    seams.correlate(reference.seams.pad_channels_last(x, (0, 0, 0, 0)), 1, 1, 1, 1)
    return c._replace(columns=None), Conv2dCache._fields, mock.patch.object(x, "_anything_of_not_the_reference")
"""
    assert seam_violations(source, "good.py") == []


def test_seam_exports_exist_under_public_names():
    assert len(seams.__all__) == len(set(seams.__all__))
    missing = [name for name in seams.__all__ if not hasattr(seams, name)]
    assert not missing, f"reference.seams.__all__ names {missing}, which it does not define"
    assert not [name for name in seams.__all__ if name.startswith("_")]
    assert seams.__doc__ and "stable" in seams.__doc__


def test_seam_stays_out_of_the_public_api():
    assert "seams" not in reference.__all__
    # A seam name in the public API would shadow or be shadowed by an implementation's layer.
    assert not set(seams.__all__) & set(reference.__all__)
    star: dict = {}
    exec("from reference import *", star)
    assert "seams" not in star


def test_reference_and_its_seam_never_import_torch():
    code = "import sys, reference, reference.seams; assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)"
    subprocess.run([sys.executable, "-c", code], check=True)


def _basic_block_params(rng, channels: int = 2) -> dict:
    params = {}
    for unit in ("1", "2"):
        params[f"conv{unit}.weight"] = rng.standard_normal((channels, channels, 3, 3))
        params |= {f"bn{unit}.weight": np.ones(channels), f"bn{unit}.bias": np.zeros(channels)}
        params |= {f"bn{unit}.running_mean": np.zeros(channels), f"bn{unit}.running_var": np.ones(channels)}
    return params


def test_residual_blocks_with_swaps_a_piece_for_the_call_only():
    rng = np.random.default_rng(0)
    x, params = rng.standard_normal((2, 2, 4, 4)), _basic_block_params(rng)

    def zero_merge(main, shortcut):
        return np.zeros_like(main), None

    forward, _ = seams.residual_blocks_with("basic_block", merge_forward=zero_merge)
    assert forward.__name__ == "basic_block_forward"
    swapped, _ = forward(x, params, training=False)
    original, _ = reference.basic_block_forward(x, params, training=False)
    assert not swapped.any() and original.any()


def test_residual_blocks_with_wants_seam_names():
    with pytest.raises(TypeError, match="_merge_forward"):
        seams.residual_blocks_with("basic_block", _merge_forward=lambda main, shortcut: (main, None))
    with pytest.raises(ValueError, match="kind"):
        seams.residual_blocks_with("wide_block")


def test_standardise_swapped_lasts_the_with_block_only():
    x = np.random.default_rng(1).standard_normal((4, 3))

    def centred_only(x, axes, count, eps):
        mean = x.mean(axis=axes, keepdims=True)
        return x - mean, np.ones_like(mean), mean, np.ones_like(mean)

    with seams.standardise_swapped(centred_only):
        inside, _ = reference.batch_norm_forward(x, None, None, None, None)
    after, _ = reference.batch_norm_forward(x, None, None, None, None)
    assert np.allclose(inside, x - x.mean(axis=0))
    assert np.allclose(after.std(axis=0), 1, atol=1e-3)
