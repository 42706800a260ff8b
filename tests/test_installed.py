"""The user's chair: the wheel built from this checkout, installed (not editable) in a new
virtual environment, and both documented commands run from an empty folder outside the
checkout on a learner's file there.

The virtual environment sees the system's site-packages for the dependencies (torch,
numpy, pytest, hypothesis: installing them again would take minutes), but gradparity,
reference and torch_impl come from the wheel, which the test asserts."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .selftest import ROOT, only_with_default_impl, write_module

pytestmark = pytest.mark.slow  # builds the wheel and a virtual environment

WRONG_BACKWARD = """
    from reference import conv2d_forward  # noqa: F401
    from reference import conv2d_backward as right_backward


    def conv2d_backward(dout, cache):
        dx, dweight, dbias = right_backward(dout, cache)
        return dx * 0.5, dweight, dbias  # a wrong input gradient
"""
COPY_IGNORES = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache", ".tox", ".venv", ".benchmarks")


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def can_build_without_isolation() -> bool:
    """setuptools new enough for pyproject.toml here: then no download is needed to build."""
    try:
        return int(importlib.metadata.version("setuptools").split(".")[0]) >= 77
    except importlib.metadata.PackageNotFoundError:
        return False


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A virtual environment with gradparity installed from a freshly built wheel."""
    scratch = tmp_path_factory.mktemp("installed")
    source = scratch / "source"  # a copy: an in-tree build would leave build/ in the checkout
    shutil.copytree(ROOT, source, ignore=COPY_IGNORES)
    isolation = ["--no-build-isolation"] if can_build_without_isolation() else []
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", str(scratch / "dist"), str(source)], scratch)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = (scratch / "dist").glob("gradparity-*.whl")
    environment = scratch / "venv"
    made = run([sys.executable, "-m", "venv", "--system-site-packages", str(environment)], scratch)
    assert made.returncode == 0, made.stderr
    installed = run([str(environment / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--quiet", str(wheel)], scratch)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    return environment


@pytest.fixture
def learner_folder(tmp_path) -> Path:
    folder = tmp_path / "my course"  # a space, as in many learners' paths
    write_module(folder, "my_layers.py", WRONG_BACKWARD)
    shutil.copy(Path(__file__).parent / "fixtures" / "course_names.py", folder / "assignment.py")
    return folder


def test_the_installed_packages_come_from_the_wheel(pytestconfig, venv, learner_folder):
    only_with_default_impl(pytestconfig)
    code = "import gradparity, reference, torch_impl; print(gradparity.__file__, reference.__file__, torch_impl.__file__)"
    done = run([str(venv / "bin" / "python"), "-c", code], learner_folder)
    assert done.returncode == 0, done.stderr
    assert all(Path(path).is_relative_to(venv) for path in done.stdout.split()), done.stdout


def test_gradparity_check_from_the_learners_folder(pytestconfig, venv, learner_folder):
    only_with_default_impl(pytestconfig)
    done = run([str(venv / "bin" / "gradparity"), "check", "my_layers.py", "--layer", "conv2d", "--profile", "ci"], learner_folder)
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"^conv2d +passed +FAILED", done.stdout, flags=re.MULTILINE), done.stdout
    assert "  conv2d backward: dx differs from PyTorch" in done.stdout

    nothing = run([str(venv / "bin" / "gradparity"), "check", "assignment.py"], learner_folder)
    assert nothing.returncode == 5, nothing.stdout + nothing.stderr
    assert "conv_forward -> conv2d_forward" in nothing.stderr


def test_pytest_pyargs_from_the_learners_folder(pytestconfig, venv, learner_folder):
    only_with_default_impl(pytestconfig)
    command = [str(venv / "bin" / "python"), "-m", "pytest", "--pyargs", "gradparity", "--impl", "my_layers.py", "--layer", "conv2d"]
    done = run([*command, "--hypothesis-profile=ci", "-p", "no:cacheprovider", "-q"], learner_folder)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"^conv2d +passed +FAILED", done.stdout, flags=re.MULTILINE), done.stdout[-3000:]
