"""Time each backend without the other library's thread pool spinning beside it.

NumPy (OpenBLAS, its own pthreads) and PyTorch (OpenMP intra-op threads) share one
process in a benchmark run, and both keep their idle worker threads *spinning* for a while
after a call, so as to start the next call sooner. Measured on the project's 2-core
machine (``python -m benchmarks.isolation_check``, and ``/proc/self/task``):

- OpenBLAS's workers spin for about 0.1 s after each BLAS call (its thread timeout,
  2**28 cycles by default). A PyTorch op timed in that window shares the cores with them:
  torch-cpu max_pool2d right after a NumPy conv2d took 8.0 ms, against 2.7 ms in a
  process where NumPy never ran (3x; 1.3x to 1.5x when other processes load the cores).
  Limiting OpenBLAS to one thread with threadpoolctl while PyTorch is timed does *not*
  help (measured: the workers already spinning spin out their timeout all the same, and
  NumPy is not called then anyway);
- PyTorch's OpenMP workers (libgomp in the pip wheels) spin for a few ms after each
  parallel region (``GOMP_SPINCOUNT``; Intel's OpenMP, in other builds: ``KMP_BLOCKTIME``,
  200 ms). Setting ``torch.set_num_threads(1)`` does not stop a spin in progress either.

So before a backend is timed we wait until no other thread of the process is running:
both pools are then asleep, and each backend is timed with its own threads (one per core,
both libraries' defaults) and nobody else's. That costs about 0.1 s per benchmark, once,
not per round. ``OMP_WAIT_POLICY=passive`` or ``OPENBLAS_THREAD_TIMEOUT`` would also stop
the spinning, but must be set before the libraries load and change their own speed (every
call then wakes sleeping threads): we time the libraries as a user runs them, only not
both at once.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

POLL_S = 0.001
# The longest wait: past any spin we know of (Intel's OpenMP: 200 ms); if a thread is still
# running then, it is not an idle pool (a thread of the user's, say): time anyway.
WAIT_LIMIT_S = 0.5
_TASKS = Path("/proc/self/task")


def other_threads_running() -> bool:
    """Whether another thread of this process is running or runnable (Linux: its state in
    /proc is R; a spinning pool thread is R even while the machine's load keeps it off a
    core, which sampling our own CPU time would miss). Elsewhere: sampled CPU time."""
    if not _TASKS.is_dir():
        return _cpu_burnt_while_sleeping(0.005) > 0.0005
    me = threading.get_native_id()
    for task in _TASKS.iterdir():
        if int(task.name) == me:
            continue
        with contextlib.suppress(OSError):  # the thread may have ended meanwhile
            state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "R":
                return True
    return False


def _cpu_burnt_while_sleeping(seconds: float) -> float:
    cpu = time.process_time()
    time.sleep(seconds)
    return time.process_time() - cpu


def wait_until_idle(limit_s: float = WAIT_LIMIT_S) -> bool:
    """Sleep until every other thread of the process sleeps; False if ``limit_s`` ran out."""
    deadline = time.perf_counter() + limit_s
    while other_threads_running():
        if time.perf_counter() > deadline:
            return False
        time.sleep(POLL_S)
    return True


# Set (to anything) to time without the wait: the control of the experiment, in a full run.
NO_ISOLATION = "GRADPARITY_BENCH_NO_ISOLATION"


@contextlib.contextmanager
def alone() -> Iterator[bool]:
    """Time what runs inside once the thread pools of earlier calls (either library's)
    sleep; gives whether they did (False: something else kept running, or no wait asked)."""
    yield wait_until_idle() if not os.environ.get(NO_ISOLATION) else False
