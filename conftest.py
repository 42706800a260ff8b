"""Runs inside the checkout load the gradparity plug-in, installed or not (an installed
gradparity registers it through its ``pytest11`` entry point, under this same name).

``tests/`` is the suite's test of itself (the known bugs it must catch, the tool, the
models, the course styles), marked ``selftest``. A plain ``pytest -n auto`` is the
learning check (every layer and model against PyTorch, and the benchmarks as smoke
tests) and leaves the self-test out; ``--selftest`` adds it (what CI runs), ``-m
selftest`` runs it alone, and naming a file or folder of ``tests/`` runs what it names.
"""

from pathlib import Path

import pytest

pytest_plugins = ["gradparity.plugin"]

SELFTEST = Path(__file__).resolve().parent / "tests"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--selftest", action="store_true", help="also run the suite's test of itself (tests/: known bugs, the tool, the models)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.resolve().is_relative_to(SELFTEST):
            item.add_marker(pytest.mark.selftest)
    # (The option is unknown where this file is loaded late, as a conftest of the checks'
    # folder: `gradparity check` on an editable install.)
    asked_for = config.getoption("--selftest", default=False) or "selftest" in (config.option.markexpr or "") or config.args_source == pytest.Config.ArgsSource.ARGS
    if asked_for:
        return
    kept = [item for item in items if not item.get_closest_marker("selftest")]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("selftest")])
        items[:] = kept
