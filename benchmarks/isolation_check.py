"""The experiment behind ``isolation.py``: is PyTorch timed inside a benchmark run, right
after NumPy's calls, as fast as in a process where NumPy never ran?

    python -m benchmarks.isolation_check [--blocks 6] [--rounds 10]

It times torch-cpu max_pool2d 2x2 on (16, 64, 32, 32) (the ``max_pool2d-2x2-fwd``
workload) in three conditions, in interleaved blocks so that a change in the machine's
load (the cores are shared) falls on all three alike:

- ``alone``: a child process that imports NumPy and PyTorch, as the run does, but never
  calls NumPy;
- ``after-numpy``: this process, each block right after one NumPy conv2d forward (the
  ``conv2d-3x3-64ch-fwd`` workload, i.e. BLAS calls), as in the run without isolation;
- ``after-numpy-isolated``: the same, timed inside ``isolation.alone()``, as
  ``test_benchmarks.py`` times it.

It prints each condition's median over all its rounds and the ratios to ``alone``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

WORKLOAD, NUMPY_WORKLOAD = "max_pool2d-2x2-fwd", "conv2d-3x3-64ch-fwd"
CONDITIONS = ("alone", "after-numpy", "after-numpy-isolated")


def time_rounds(run: Callable[[], object], rounds: int) -> list[float]:
    """Like ``benchmark.pedantic(run, warmup_rounds=1, rounds=rounds)``: seconds per round."""
    run()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def _workload(name: str):
    from .workloads import WORKLOADS

    return next(w for w in WORKLOADS if w.name == name)


def torch_pooling() -> Callable[[], object]:
    import numpy as np
    import torch

    run = _workload(WORKLOAD).torch("cpu", np.random.default_rng(0))

    def forward():
        with torch.no_grad():  # as backends.runner runs a forward workload
            return run()

    return forward


def numpy_convolution() -> Callable[[], object]:
    import numpy as np

    import reference

    return _workload(NUMPY_WORKLOAD).numpy(reference, np.random.default_rng(0))


def serve_torch_alone() -> None:
    """The child: answer each line ``ROUNDS`` with the JSON list of that many round times."""
    run = torch_pooling()
    print("ready", flush=True)
    for line in sys.stdin:
        print(json.dumps(time_rounds(run, int(line))), flush=True)


class TorchAlone:
    """A child process timing the workload where NumPy never runs."""

    def __init__(self) -> None:
        command = [sys.executable, "-c", "from benchmarks.isolation_check import serve_torch_alone; serve_torch_alone()"]
        checkout = Path(__file__).resolve().parents[1]  # where `benchmarks` imports from, wherever pytest started
        self.process = subprocess.Popen(command, cwd=checkout, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self._read() != "ready":
            raise RuntimeError("isolation_check: the torch-only child process did not start")

    def _read(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def time_rounds(self, rounds: int) -> list[float]:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{rounds}\n")
        self.process.stdin.flush()
        return json.loads(self._read())

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def measure(blocks: int = 6, rounds: int = 10) -> dict[str, list[float]]:
    """Round times per condition, the conditions interleaved block by block."""
    from .isolation import alone

    torch_run, numpy_run = torch_pooling(), numpy_convolution()
    child = TorchAlone()
    times: dict[str, list[float]] = {condition: [] for condition in CONDITIONS}
    try:
        for _ in range(blocks):
            times["alone"] += child.time_rounds(rounds)
            numpy_run()
            times["after-numpy"] += time_rounds(torch_run, rounds)
            numpy_run()
            with alone():
                times["after-numpy-isolated"] += time_rounds(torch_run, rounds)
    finally:
        child.close()
    return times


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {condition: statistics.median(values) for condition, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.isolation_check", description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=6, help="blocks per condition, interleaved (default 6)")
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds per block (default 10, as the benchmark)")
    args = parser.parse_args(argv)
    by_condition = medians(measure(args.blocks, args.rounds))
    for condition, median in by_condition.items():
        print(f"{condition:>22}: median {median * 1e3:7.3f} ms  ({median / by_condition['alone']:.2f}x alone)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
