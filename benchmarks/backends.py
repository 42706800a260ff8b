"""The backends a workload runs on, side by side in one run.

- ``numpy``: the implementation under test (the reference, or ``--impl``), float32;
- ``torch-cpu``: PyTorch float32 on the CPU;
- ``torch-cpu-bf16``: ``torch.autocast('cpu', dtype=torch.bfloat16)``;
- ``torch-cuda``: float32 on the GPU, timed up to ``torch.cuda.synchronize()``;
- ``torch-cuda-amp``: ``torch.autocast('cuda', dtype=torch.float16)``, with a GradScaler
  for training steps.
The CUDA backends skip with a reason when no GPU is present.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import pytest
import torch

from . import report
from .workloads import Workload

# torch-cpu first: the others report their ratio to it, measured earlier in the same run.
BACKENDS = ("torch-cpu", *(name for name in report.BACKENDS if name != "torch-cpu"))
AUTOCAST = {
    "torch-cpu": None,
    "torch-cpu-bf16": ("cpu", torch.bfloat16),
    "torch-cuda": None,
    "torch-cuda-amp": ("cuda", torch.float16),
}


def runner(backend: str, workload: Workload, impl) -> Callable[[], object]:
    """One iteration of ``workload`` on ``backend``, ready to time."""
    rng = np.random.default_rng(0)
    if backend == "numpy":
        impl.get(*(f"{layer}_{part}" for layer in workload.needs for part in ("forward", "backward")), *(f"{name}_step" for name in workload.steps))
        return workload.numpy(impl.module, rng)
    device = "cuda" if backend.startswith("torch-cuda") else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA is not available: the torch-cuda backends need a GPU")
    run = workload.torch(device, rng)
    autocast = AUTOCAST[backend]

    def context():
        return torch.autocast(autocast[0], dtype=autocast[1]) if autocast else contextlib.nullcontext()

    if workload.mode == "training":
        scaler = torch.amp.GradScaler("cuda") if backend == "torch-cuda-amp" else None

        def body():
            return run(context, scaler)
    else:
        grad_mode = torch.enable_grad if workload.mode == "backward" else torch.no_grad

        def body():
            with grad_mode(), context():
                return run()

    if device != "cuda":
        return body

    def synchronised():
        out = body()
        torch.cuda.synchronize()  # CUDA launches are asynchronous: time the work, not the launch
        return out

    return synchronised
