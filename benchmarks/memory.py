"""The peak memory one iteration of a workload allocates, above what was allocated before
it (its inputs, its parameters): measured in one extra, untimed iteration, because each
way of measuring slows the iteration down.

- NumPy: ``tracemalloc``. NumPy reports every array buffer it allocates to it, so its
  peak is the peak of the arrays alive at once (plus Python objects, a few kB).
- PyTorch on the CPU: ``torch.profiler`` with ``profile_memory=True`` records each
  allocation and free of PyTorch's CPU allocator (CPU, MKLDNN and IDEEP storages), with
  its size and time; replaying them in time order gives the peak. PyTorch has no CPU
  counterpart of ``torch.cuda.max_memory_allocated``, and the process's peak RSS is no
  substitute: ``ru_maxrss`` never resets, and memory freed earlier but kept by malloc is
  reused without raising the RSS, so a second measurement in one process reads 0.
- PyTorch on CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``.

Both CPU measures count the library's array/tensor buffers, and neither the scratch
space that BLAS, oneDNN or MKL allocate inside a call through their own allocators: the
same scope on both sides, so the two columns compare.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable


def numpy_peak_bytes(run: Callable[[], object]) -> int:
    """Peak bytes traced by ``tracemalloc`` during ``run()``, above the level before it."""
    started_here = not tracemalloc.is_tracing()  # a run under `python -X tracemalloc` keeps its tracing
    if started_here:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        run()
        return max(tracemalloc.get_traced_memory()[1] - before, 0)
    finally:
        if started_here:
            tracemalloc.stop()


def torch_cpu_peak_bytes(run: Callable[[], object]) -> int | None:
    """Peak bytes PyTorch's CPU allocator held during ``run()`` above the level before it,
    from the profiler's memory events; None if this torch's profiler does not give them."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        run()
    results = getattr(profiler.profiler, "kineto_results", None)  # internal, but what torch's own tables read
    if results is None:
        return None
    host = {DeviceType.CPU, DeviceType.MKLDNN, DeviceType.IDEEP}
    events = sorted((e.start_ns(), e.nbytes()) for e in results.events() if e.name() == "[memory]" and e.device_type() in host)
    return peak_of(nbytes for _, nbytes in events)


def peak_of(changes) -> int:
    """The highest running total of allocations (positive) and frees (negative), from 0."""
    total = peak = 0
    for change in changes:
        total += change
        peak = max(peak, total)
    return peak


def torch_cuda_peak_bytes(run: Callable[[], object]) -> int:
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    run()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


def peak_bytes(backend: str, run: Callable[[], object]) -> int | None:
    """The peak memory one iteration of ``run`` allocates on ``backend`` (see the module docstring)."""
    if backend == "numpy":
        return numpy_peak_bytes(run)
    if backend.startswith("torch-cuda"):
        return torch_cuda_peak_bytes(run)
    return torch_cpu_peak_bytes(run)
