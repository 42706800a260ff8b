"""What the numbers were measured on, recorded into the benchmark JSON at benchmark time
(``pytest_benchmark_update_machine_info`` in conftest.py) so that ``report.py``, which
imports no torch, can state it: the CPU, the cores, NumPy's BLAS and its threads (from
threadpoolctl), PyTorch's version and intra-op threads, NumPy's version; and how busy
other processes kept the cores while the run went on, because on shared cores they
inflate the times (PyTorch's most: each of its parallel ops waits for all its threads).
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path


def cpu_model() -> str:
    """The CPU's marketing name: /proc/cpuinfo on Linux, else what ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def usable_cores() -> int:
    """The cores this process may run on (a container or ``taskset`` may allow fewer than the machine has)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


def thread_pools() -> list[dict]:
    """Each BLAS and OpenMP library loaded, as threadpoolctl sees it (version, threads...)."""
    from threadpoolctl import threadpool_info

    keep = ("user_api", "internal_api", "version", "num_threads", "threading_layer", "architecture")
    return [{key: pool[key] for key in keep if pool.get(key) is not None} | {"file": Path(pool["filepath"]).name} for pool in threadpool_info()]


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages, where the system gives them."""
    try:
        return [round(load, 2) for load in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def cpu_snapshot() -> dict | None:
    """CPU seconds the whole machine and this process (with the children it waited for)
    have used so far, and the clock; None where /proc/stat is missing (not Linux)."""
    stat = Path("/proc/stat")
    if not stat.is_file():
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(n) for n in stat.read_text().split("\n", 1)[0].split()[1:9])
    ticks, own = os.sysconf("SC_CLK_TCK"), os.times()
    return {
        "busy_s": (user + nice + system + irq + softirq) / ticks,
        "steal_s": steal / ticks,  # a virtual machine's cores taken by the hypervisor
        "own_s": own.user + own.system + own.children_user + own.children_system,
        "clock_s": time.monotonic(),
    }


def contention(start: dict | None, end: dict | None) -> dict | None:
    """How many cores, on average between two snapshots, other processes kept busy, and
    the hypervisor took (a number of cores, not a share: 1.0 is one whole core)."""
    if not start or not end or end["clock_s"] <= start["clock_s"]:
        return None
    seconds = end["clock_s"] - start["clock_s"]
    others = (end["busy_s"] - start["busy_s"]) - (end["own_s"] - start["own_s"])
    return {"seconds": round(seconds, 1), "other_processes_cores": round(max(others, 0.0) / seconds, 2), "steal_cores": round((end["steal_s"] - start["steal_s"]) / seconds, 2)}


def describe() -> dict:
    """The machine and the libraries' settings, as JSON-ready values."""
    import numpy
    import torch

    info = {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable_cores(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "thread_pools": thread_pools(),
        "python": platform.python_version(),
    }
    if torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name()
    return info
