"""NumPy (the implementation under test) beside PyTorch on every backend, grouped per
workload so that ``pytest --benchmark-only`` prints them side by side; and the scaling
sweep (``-m scaling``, left out otherwise).

Each backend is timed alone: after the thread pools of earlier calls, NumPy's or
PyTorch's, have gone to sleep (isolation.py). Then one more, untimed, iteration measures
the peak memory it allocates (memory.py). ``extra_info`` carries ``peak_bytes``, GFLOP/s
(where FLOPs are defined), the ratio to torch-cpu measured in the same run, and, for the
sweep, where the point lies (``scaling``).

Under ``pytest -n auto`` pytest-benchmark turns timing off and each runs once: a smoke
test, so that no benchmark rots (no waiting, no memory measurement).
"""

from __future__ import annotations

import time

import pytest

from . import scaling
from .backends import BACKENDS, runner
from .isolation import alone
from .memory import peak_bytes
from .workloads import WORKLOADS

# Medians of torch-cpu, measured earlier in the same run (it runs before the others).
TORCH_CPU_MEDIANS: dict[str, float] = {}
# The sweep's rounds per point: as many as fit this many seconds, within these bounds.
SCALING_SECONDS, SCALING_ROUNDS = 0.25, (3, 15)


def time_alone_then_measure_memory(benchmark, backend: str, run, rounds: int) -> float | None:
    """Time ``run`` on ``backend`` alone, then record its peak memory; the median, or None
    when timing is off."""
    if not benchmark.enabled:
        benchmark.pedantic(run)
        return None
    with alone() as pools_idle:
        benchmark.pedantic(run, warmup_rounds=1, rounds=rounds, iterations=1)
    benchmark.extra_info["pools_idle"] = pools_idle  # False: something else kept running; the time may be high
    benchmark.extra_info["peak_bytes"] = peak_bytes(backend, run)
    return benchmark.stats.stats.median


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w.name)
def test_speed(benchmark, impl, workload, backend):
    run = runner(backend, workload, impl)
    benchmark.group = workload.name
    benchmark.extra_info.update(workload=workload.name, backend=backend)
    rounds = 5 if "numpy" in backend or "resnet" in workload.name else 10
    median = time_alone_then_measure_memory(benchmark, backend, run, rounds)
    if median is None:
        return
    if workload.flops:
        benchmark.extra_info["gflops"] = workload.flops / median / 1e9
    if backend == "torch-cpu":
        TORCH_CPU_MEDIANS[workload.name] = median
    elif workload.name in TORCH_CPU_MEDIANS:
        benchmark.extra_info["ratio_to_torch_cpu"] = median / TORCH_CPU_MEDIANS[workload.name]


def rounds_that_fit(run, seconds: float = SCALING_SECONDS, bounds: tuple[int, int] = SCALING_ROUNDS) -> int:
    """Time one call of ``run`` and return the rounds that fit ``seconds`` (a point of the
    sweep takes 0.1 ms to 0.1 s: a fixed count would be too few for one, too long for the other)."""
    start = time.perf_counter()
    run()
    once = max(time.perf_counter() - start, 1e-6)
    return max(bounds[0], min(bounds[1], int(seconds / once)))


@pytest.mark.scaling
@pytest.mark.parametrize("backend", scaling.BACKENDS)
@pytest.mark.parametrize("point", scaling.SWEEP, ids=lambda p: p.workload.name)
def test_scaling(benchmark, impl, point, backend):
    run = runner(backend, point.workload, impl)
    benchmark.group = point.workload.name
    benchmark.extra_info.update(workload=point.workload.name, backend=backend, scaling=point.info())
    rounds = rounds_that_fit(run) if benchmark.enabled else 1
    time_alone_then_measure_memory(benchmark, backend, run, rounds)
