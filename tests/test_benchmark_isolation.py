"""The benchmarks' measuring tools, checked quickly: the wait for idle thread pools
(benchmarks/isolation.py) and the peak-memory measures (benchmarks/memory.py). Whether the
wait makes the timings agree is a timing check, run with the benchmarks
(benchmarks/test_isolation.py)."""

import sys
import threading

import numpy as np
import pytest
import torch

from benchmarks import isolation, memory

MB = 1_000_000


@pytest.fixture
def busy_thread():
    """A thread that keeps running until the test is done with it."""
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            pass

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    yield thread
    stop.set()
    thread.join()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the threads' states in /proc (Linux)")
def test_a_running_thread_is_seen(busy_thread):
    assert isolation.other_threads_running()
    assert not isolation.wait_until_idle(limit_s=0.02)  # it never sleeps: the wait gives up, and says so


def test_the_pools_fall_asleep_within_the_wait():
    """After BLAS and OpenMP work their workers spin (0.1 s for OpenBLAS), then sleep: the
    wait ends well before its limit, rather than timing every benchmark out."""
    matrix = np.ones((512, 512), np.float32)
    _ = matrix @ matrix
    torch.relu(torch.ones(1 << 20))
    assert isolation.wait_until_idle()
    assert not isolation.other_threads_running()


def test_the_wait_can_be_turned_off_for_the_experiments_control(monkeypatch, busy_thread):
    monkeypatch.setenv(isolation.NO_ISOLATION, "1")
    with isolation.alone() as pools_idle:
        assert pools_idle is False


def test_numpy_peak_counts_the_arrays_alive_at_once():
    def two_arrays_then_one():
        first = np.ones(MB, np.float64)  # 8 MB
        second = np.ones(MB, np.float64)  # 8 MB more, both alive: the peak
        del first, second
        return np.ones(MB // 2, np.float64)  # 4 MB, returned

    assert 16 * MB <= memory.numpy_peak_bytes(two_arrays_then_one) < 16.1 * MB


def test_numpy_peak_ignores_what_was_allocated_before():
    kept = np.ones(MB, np.float64)
    assert 8 * MB <= memory.numpy_peak_bytes(lambda: kept + 0) < 8.1 * MB  # the result only, not `kept` again


def test_torch_cpu_peak_replays_the_allocators_events():
    def two_tensors_then_one():
        first = torch.ones(2 * MB)  # float32: 8 MB
        second = torch.ones(2 * MB)
        del first, second
        return torch.ones(MB)

    peak = memory.torch_cpu_peak_bytes(two_tensors_then_one)
    assert peak is None or 16 * MB <= peak < 16.1 * MB  # None: a torch whose profiler gives no events


def test_the_peak_of_allocations_and_frees():
    assert memory.peak_of([8, 8, -8, 4, -12]) == 16
    assert memory.peak_of([-4, 2]) == 0  # a free of something allocated before: no peak above the start
