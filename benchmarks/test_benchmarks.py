"""NumPy (the implementation under test) beside PyTorch on every backend, grouped per
workload so that ``pytest --benchmark-only`` prints them side by side.

Under ``pytest -n auto`` pytest-benchmark turns timing off and each runs once: a smoke
test, so that no benchmark rots. ``extra_info`` carries GFLOP/s (where FLOPs are
defined) and the ratio to torch-cpu measured in the same run.
"""

from __future__ import annotations

import pytest

from .backends import BACKENDS, runner
from .workloads import WORKLOADS

# Medians of torch-cpu, measured earlier in the same run (it runs before the others).
TORCH_CPU_MEDIANS: dict[str, float] = {}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w.name)
def test_speed(benchmark, impl, workload, backend):
    run = runner(backend, workload, impl)
    benchmark.group = workload.name
    benchmark.extra_info.update(workload=workload.name, backend=backend)
    benchmark.pedantic(run, warmup_rounds=1, rounds=5 if "numpy" in backend or "resnet" in workload.name else 10, iterations=1)
    stats = getattr(benchmark, "stats", None)
    if stats is None:  # timing is off (xdist, --benchmark-disable): a smoke run
        return
    median = stats.stats.median
    if workload.flops:
        benchmark.extra_info["gflops"] = workload.flops / median / 1e9
    if backend == "torch-cpu":
        TORCH_CPU_MEDIANS[workload.name] = median
    elif workload.name in TORCH_CPU_MEDIANS:
        benchmark.extra_info["ratio_to_torch_cpu"] = median / TORCH_CPU_MEDIANS[workload.name]
