"""NumPy (the implementation under test) beside PyTorch on the CPU, grouped per workload.

``pytest --benchmark-only`` times them; under ``pytest -n auto`` pytest-benchmark turns
timing off and each runs once, as a smoke test.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import torch_impl

# A ResNet-style 3x3 layer and the 2x2 max-pool after a first layer.
WORKLOADS = {
    "conv2d-3x3-64ch-32px": ("conv2d", {"x": (16, 64, 32, 32), "weight": (64, 64, 3, 3)}, {"padding": 1}),
    "max_pool2d-2x2-64ch-32px": ("max_pool2d", {"x": (16, 64, 32, 32)}, {"kernel_size": 2}),
}
TWINS = {"conv2d": torch_impl.conv2d, "max_pool2d": torch_impl.max_pool2d}


@pytest.mark.parametrize("backend", ["numpy", "torch-cpu"])
@pytest.mark.parametrize("workload", WORKLOADS)
def test_forward_speed(benchmark, impl, workload, backend):
    layer, shapes, kwargs = WORKLOADS[workload]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in shapes.values()]
    benchmark.group = workload
    if backend == "numpy":
        forward = impl.get(f"{layer}_forward")
        out, _ = benchmark(forward, *arrays, **kwargs)
    else:
        tensors = [torch.from_numpy(a) for a in arrays]
        with torch.no_grad():
            out = benchmark(TWINS[layer], *tensors, **kwargs)
    assert out.dtype in (np.float32, torch.float32)
