"""Run the packaged checks on another implementation in a subprocess, as a user would
(``pytest --pyargs gradparity --impl ...`` from a folder outside the checkout), and read
its verdict: exit code, JSON report and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

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


def run_suite(tmp_path: Path, impl: str | None, *args: str, profile: str = "selftest", cwd: Path | None = None) -> SuiteRun:
    """The checks on ``impl`` (None: no --impl), single process, ``profile`` (fixed seed,
    no shrinking by default), started from ``cwd`` (default: an empty folder)."""
    report = tmp_path / "summary.json"
    folder = cwd or tmp_path / "run"
    folder.mkdir(exist_ok=True)
    command = [
        sys.executable, "-m", "pytest", "-p", "gradparity.plugin", "--pyargs", "gradparity", *(["--impl", impl] if impl else []),
        "--gradparity-json", str(report), f"--hypothesis-profile={profile}", "-p", "no:xdist", "-p", "no:cacheprovider",
        "-q", "--tb=line", *args,
    ]
    done = subprocess.run(command, cwd=folder, env=suite_env(), capture_output=True, text=True, timeout=600)
    return SuiteRun(done.returncode, json.loads(report.read_text()) if report.exists() else {}, done.stdout + done.stderr)


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
