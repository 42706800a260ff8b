"""The suite testing itself: each deliberately wrong implementation must be caught, with the
failure on the layer and check its mistake touches, in both derandomized profiles: the
self-test's 100 examples and the ci profile's 30 (``ci-noshrink``: the very examples of
``--hypothesis-profile=ci``, without the shrinking that only polishes a failure). The test
id says which profile caught, or missed, what."""

import runpy
from pathlib import Path

import pytest

from gradparity.optimizers import NAMES as OPTIMIZER_NAMES
from gradparity.registry import LAYER_NAMES
from gradparity.summary import CHECKS

from .selftest import only_with_default_impl, run_suite

BUG_MODULES = sorted(p for p in (Path(__file__).parent / "known_bugs").glob("*.py") if not p.name.startswith("_"))


def test_there_are_enough_known_bugs():
    assert len(BUG_MODULES) >= 10


@pytest.mark.parametrize("module", BUG_MODULES, ids=lambda p: p.stem)
@pytest.mark.parametrize("profile", ["selftest", "ci-noshrink"])
def test_known_bug_is_caught(pytestconfig, tmp_path, module, profile):
    only_with_default_impl(pytestconfig)
    bug = runpy.run_path(str(module))["BUG"]
    assert bug["layer"] in (*LAYER_NAMES, *OPTIMIZER_NAMES) and set(bug["checks"]) <= set(CHECKS)

    # Only the checks the bug must fail: the others add time, not proof.
    only = [argument for check in bug["checks"] for argument in ("--check-only", check)]
    run = run_suite(tmp_path, str(module), "--layer", bug["layer"], *only, profile=profile)

    assert run.returncode == 1, f"{module.stem}: the suite exited {run.returncode} under {profile}, should fail\n{run.output[-3000:]}"
    assert list(run.table) == [bug["layer"]], run.output[-3000:]
    verdicts = run.table[bug["layer"]]
    missed = [check for check in bug["checks"] if verdicts[check] != "FAILED"]
    assert not missed, f"{module.stem}: under {profile}, checks {missed} did not catch the bug; verdicts {verdicts}"
    summary_row = next(line for line in run.output.splitlines() if line.startswith(bug["layer"] + " "))
    assert "FAILED" in summary_row
