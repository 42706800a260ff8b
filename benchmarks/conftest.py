"""The benchmarks' pytest wiring: the ``scaling`` marker (and the sweep kept out of runs
that do not ask for it), the machine recorded into ``--benchmark-json``, and the
``timing_on`` fixture for tests that time things themselves."""

from __future__ import annotations

import pytest

from .machine import cpu_snapshot, load_average

SCALING = "scaling"
# The machine before the run, at the latest when collection begins (this module's import).
LOAD_AT_START, CPU_AT_START = load_average(), cpu_snapshot()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{SCALING}: the scaling sweep (benchmarks/scaling.py); runs only with -m {SCALING}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the sweep out unless ``-m`` names it: ``pytest --benchmark-only`` times the
    workloads, not a hundred more points, and ``pytest -n auto`` stays fast. A ``-m``
    expression that mentions it (``-m scaling``, ``-m "not scaling"``) decides alone."""
    if SCALING in (config.getoption("markexpr", "") or ""):
        return
    sweep = [item for item in items if item.get_closest_marker(SCALING)]
    if sweep:
        config.hook.pytest_deselected(items=sweep)
        items[:] = [item for item in items if not item.get_closest_marker(SCALING)]


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """The CPU, the cores and the libraries' threads, for ``python -m benchmarks.report``."""
    from .machine import contention, describe

    during = {"load_average": {"start": LOAD_AT_START, "end": load_average()}, "contention": contention(CPU_AT_START, cpu_snapshot())}
    machine_info["gradparity"] = {**describe(), **during}


@pytest.fixture
def timing_on(benchmark) -> None:
    """For a test that times things itself: it asks for ``benchmark`` so that
    ``--benchmark-only`` runs it, and skips where timing is off (``-n``, ``--benchmark-disable``)."""
    if not benchmark.enabled:
        pytest.skip("a timing check: it runs when benchmarks are timed (pytest --benchmark-only)")
