"""Run the suite on another implementation in a subprocess, as a user would, and read
its verdict (exit code and summary table)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SuiteRun:
    returncode: int
    table: dict[str, dict[str, str]]
    output: str


def run_suite(tmp_path: Path, impl: str, *args: str) -> SuiteRun:
    """``pytest --impl impl`` on this suite's checks, single process, fixed seed, no shrinking."""
    report = tmp_path / "summary.json"
    command = [
        sys.executable, "-m", "pytest", str(ROOT / "tests"), "--impl", impl, "--gradparity-json", str(report),
        "--hypothesis-profile=selftest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q", "--tb=line", *args,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    table = json.loads(report.read_text()) if report.exists() else {}
    return SuiteRun(done.returncode, table, done.stdout + done.stderr)


def only_with_default_impl(config: pytest.Config) -> None:
    """The self-tests check the suite, not the module under test: run them once, with the reference."""
    if config.getoption("--impl") != "reference":
        pytest.skip("suite self-test: runs with the default --impl only")
