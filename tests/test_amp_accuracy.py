"""Mixed precision accuracy: autocast results against the float64 reference.

Under autocast, inputs and outputs of matmul-like ops are rounded to the low-precision
dtype (unit roundoff u: 2**-8 for bfloat16, 2**-11 for float16) and accumulated in
float32. A dot product of rounded inputs is then off by about 2u relative to the sum of
the absolute products, and the result's own rounding adds u: a few u, normwise. The bound
below is 8u normwise (max |error| / max |exact|), room for cancellation in sums of random
signs and, for the LSTM and the training step, for the error carried through steps and
layers. bfloat16 on the CPU is checked always, float16 on CUDA when a GPU is present.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import reference
import torch_impl
import torch_impl.models as torch_models
from reference import models as numpy_models

UNIT_ROUNDOFF = {torch.bfloat16: 2.0**-8, torch.float16: 2.0**-11}
BOUND_IN_UNITS = 8
SETTINGS = [
    pytest.param("cpu", torch.bfloat16, id="cpu-bf16"),
    pytest.param("cuda", torch.float16, id="cuda-fp16", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available: fp16 autocast is checked on a GPU")),
]


def normwise_error(result, exact: np.ndarray) -> float:
    got = result.detach().float().cpu().numpy().astype(np.float64) if isinstance(result, torch.Tensor) else np.asarray(result, dtype=np.float64)
    return float(np.abs(got - exact).max() / np.abs(exact).max())


def assert_within_bound(what: str, result, exact: np.ndarray, dtype) -> None:
    __tracebackhide__ = True
    error, bound = normwise_error(result, exact), BOUND_IN_UNITS * UNIT_ROUNDOFF[dtype]
    assert error <= bound, f"{what} under {dtype} autocast: normwise error {error:.3g} exceeds {BOUND_IN_UNITS}u = {bound:.3g}"


def autocast(device, dtype):
    return torch.autocast(device, dtype=dtype)


@pytest.mark.parametrize(("device", "dtype"), SETTINGS)
def test_conv2d_under_autocast(device, dtype):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 16, 16, 16)), rng.standard_normal((32, 16, 3, 3)) * 0.1, rng.standard_normal(32)
    exact, _ = reference.conv2d_forward(x, w, b, 1, 1)
    with autocast(device, dtype):
        out = torch_impl.conv2d(*(torch.tensor(a, dtype=torch.float32, device=device) for a in (x, w, b)), 1, 1)
    assert_within_bound("conv2d", out, exact, dtype)


@pytest.mark.parametrize(("device", "dtype"), SETTINGS)
def test_linear_under_autocast(device, dtype):
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((64, 256)), rng.standard_normal((128, 256)) * 0.05, rng.standard_normal(128)
    exact, _ = reference.linear_forward(x, w, b)
    with autocast(device, dtype):
        out = torch_impl.linear(*(torch.tensor(a, dtype=torch.float32, device=device) for a in (x, w, b)))
    assert_within_bound("linear", out, exact, dtype)


@pytest.mark.parametrize(("device", "dtype"), SETTINGS)
def test_lstm_under_autocast(device, dtype):
    rng = np.random.default_rng(2)
    steps, batch, inputs, hidden = 20, 8, 32, 64
    scale = hidden**-0.5
    params = {
        "weight_ih_l0": rng.standard_normal((4 * hidden, inputs)) * scale,
        "weight_hh_l0": rng.standard_normal((4 * hidden, hidden)) * scale,
        "bias_ih_l0": rng.standard_normal(4 * hidden) * scale,
        "bias_hh_l0": rng.standard_normal(4 * hidden) * scale,
    }
    x = rng.standard_normal((steps, batch, inputs))
    exact, h_n, c_n, _ = reference.lstm_forward(x, None, None, params)
    tensors = {k: torch.tensor(v, dtype=torch.float32, device=device) for k, v in params.items()}
    with autocast(device, dtype):
        out, _, _ = torch_impl.lstm(torch.tensor(x, dtype=torch.float32, device=device), None, None, tensors)
    assert_within_bound("lstm output", out, exact, dtype)


@pytest.mark.parametrize(("device", "dtype"), SETTINGS)
def test_lenet5_training_step_under_autocast(device, dtype):
    """One training step's loss and gradients (the LeNet-5 of torch_impl, weights shared
    with the float64 NumPy model)."""
    torch.manual_seed(0)
    twin = torch_models.LeNet5().to(device)
    model = numpy_models.LeNet5()
    model.load_state_dict({k: v.detach().cpu().numpy().astype(np.float64) for k, v in twin.state_dict().items()})
    rng = np.random.default_rng(3)
    images, labels = rng.standard_normal((32, 1, 32, 32)), rng.integers(0, 10, size=32)

    loss, cache = reference.cross_entropy_forward(model.forward(images, training=True), labels)
    grads = model.backward(reference.cross_entropy_backward(np.float64(1.0), cache))

    with autocast(device, dtype):
        torch_loss = torch.nn.functional.cross_entropy(twin(torch.tensor(images, dtype=torch.float32, device=device)), torch.as_tensor(labels, device=device))
    torch_loss.backward()
    assert_within_bound("LeNet-5 loss", torch_loss, np.asarray(loss), dtype)
    for name, parameter in twin.named_parameters():
        assert_within_bound(f"LeNet-5 gradient of {name}", parameter.grad, grads[name], dtype)
