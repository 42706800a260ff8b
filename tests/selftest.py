"""Run the packaged checks on another implementation as a user would (``pytest --pyargs
gradparity --impl ...`` from a folder outside the checkout), and read its verdict: exit
code, JSON report and output.

The run is made in this process (``pytest.main``), not in a subprocess: importing torch,
hypothesis and the checks once instead of once a run is most of what made the self-test
slow. What a run changes in the process is put back after it (``own_process_state``), so
that runs cannot see each other. The tests that are about a real process (the command,
the installed wheel) start one themselves.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import sysconfig
import textwrap
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from gradparity import plugin

# For the tests of what a run reports (rows, notes, exit codes), not of what the checks can
# catch: the self-test's derandomized examples without shrinking, 10 a check instead of
# 100. The known bugs are run under `selftest` and `ci-noshrink`.
QUICK = "selftest-quick"
settings.register_profile(QUICK, settings(plugin.PROFILES["selftest"], max_examples=10))

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SuiteRun:
    returncode: int
    report: dict
    output: str

    @property
    def table(self) -> dict[str, dict[str, str]]:
        """layer -> check -> verdict ('passed', 'FAILED', 'not implemented', ...)."""
        return self.report.get("layers", {})


def suite_env() -> dict[str, str]:
    """The environment of a run: this checkout importable even where it is not installed."""
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


@contextlib.contextmanager
def own_process_state(cwd: Path) -> Iterator[None]:
    """Run a pytest session in this process as if it were a process of its own, started in
    ``cwd``: afterwards, the modules, import path, working directory, warning filters,
    hypothesis profile and plug-in state are what they were before it."""
    modules, path, filters, folder = set(sys.modules), list(sys.path), list(warnings.filters), os.getcwd()
    profile, plugin_state = settings.get_current_profile_name(), (plugin._profile, plugin._current_run)
    checks = _drop_run_modules(set(sys.modules), checks_only=True)  # the session's own, put back after the run
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(folder)
        _drop_run_modules(modules)
        sys.modules.update(checks)
        sys.path[:] = path
        warnings.filters[:] = filters
        settings.load_profile(profile)
        plugin._profile, plugin._current_run = plugin_state


# Modules a run may import and the next one keep: the libraries' and the project's.
SHARED_MODULE_FOLDERS = [Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")] + [
    ROOT / "gradparity", ROOT / "reference", ROOT / "torch_impl",
]


def _drop_run_modules(before: set[str], checks_only: bool = False) -> dict:
    """Take out of ``sys.modules`` what belongs to one run: the check modules (they read the
    run's profile and entries when imported) and, unless ``checks_only``, the modules that
    are new since ``before`` and not a library's or the project's (the implementation's
    files, their siblings). Returns what was taken out."""

    def run_specific(name: str) -> bool:
        if name == "gradparity.checks" or name.startswith("gradparity.checks."):
            return True
        if checks_only or name in before:
            return False
        file = getattr(sys.modules[name], "__file__", None)
        shared = file is not None and any(Path(file).resolve().is_relative_to(folder) for folder in SHARED_MODULE_FOLDERS)
        return not shared

    return {name: sys.modules.pop(name) for name in [name for name in sys.modules if run_specific(name)]}


def run_suite(tmp_path: Path, impl: str | None, *args: str, profile: str = QUICK, cwd: Path | None = None) -> SuiteRun:
    """The checks on ``impl`` (None: no --impl), in this process, ``profile`` (default:
    fixed seed, no shrinking, 10 examples), started from ``cwd`` (default: an empty folder)."""
    report = tmp_path / "summary.json"
    folder = cwd or tmp_path / "run"
    folder.mkdir(exist_ok=True)
    command = [
        "-p", "gradparity.plugin", "--pyargs", "gradparity", *(["--impl", impl] if impl else []),
        "--gradparity-json", str(report), f"--hypothesis-profile={profile}", "-p", "no:xdist", "-p", "no:cacheprovider",
        # No collecting of unraisable exceptions: its gc.collect() at the end is most of a short run.
        "-p", "no:unraisableexception", "-q", "--tb=line", *args,
    ]
    output = io.StringIO()
    with own_process_state(folder), contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        returncode = int(pytest.main(command))
    return SuiteRun(returncode, json.loads(report.read_text()) if report.exists() else {}, output.getvalue())


def write_module(folder: Path, name: str, source: str) -> Path:
    """A learner's module, written where the test wants it (outside the checkout)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


def only_with_default_impl(config: pytest.Config) -> None:
    """The self-tests check the suite, not the module under test: run them once, with the reference."""
    if config.getoption("--impl"):
        pytest.skip("suite self-test: runs with the default --impl only")
