"""Comparing a NumPy model (on some implementation's layers) with its PyTorch twin from the
same weights: logits, every parameter gradient, the input gradient and the batch-norm
running statistics. Used by the model checks (``checks/test_models.py``) and by the
suite's own model known-bug tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .assertions import assert_close
from .model_cases import ModelCase, load_twin_state, to_torch
from .op_entry import DEFAULT_TOLERANCES, Tolerance
from .sample import is_buffer

# Where a batch norm in training sees few values per channel, PyTorch's own float32 result
# is up to 1.5e-3 (relative) from the exact float64 one; the whole network compounds it.
MODEL_FLOAT32 = Tolerance(2e-3, 2e-3, "float32 through a whole network, batch norms over few values per channel amplifying rounding")
DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass
class ModelCheck:
    """What ``assert_close`` needs to word a model's mismatch."""

    name: str
    forward_name: str
    hints: dict = field(default_factory=dict)


@dataclass
class Call:
    inputs: tuple
    training: bool

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.dtype}{a.shape}" for a in self.inputs)
        return f"({shapes}, training={self.training})"


def tolerance(dtype: str) -> Tolerance:
    return DEFAULT_TOLERANCES["float64"] if dtype == "float64" else MODEL_FLOAT32


def build_pair(case: ModelCase, impl_module, dtype: str):
    torch.manual_seed(0)
    twin = case.build_twin().to(DTYPES[dtype])
    if case.has_batch_norm:
        # Non-trivial running statistics and affine parameters, so eval mode means something.
        generator = torch.Generator().manual_seed(1)
        for module in twin.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                weight, bias, mean, var = module.weight, module.bias, module.running_mean, module.running_var
                assert weight is not None and bias is not None and mean is not None and var is not None  # affine, tracked
                for tensor in (weight, bias, mean):
                    tensor.data.uniform_(-0.5, 0.5, generator=generator)
                var.data.uniform_(0.5, 1.5, generator=generator)
                weight.data += 1
    model = load_twin_state(case.build_numpy(impl=impl_module), twin, np.dtype(dtype))
    return twin, model


def compare_models(case: ModelCase, twin, model, inputs: tuple, *, training: bool, dtype: str, seed: int = 0) -> None:
    """Forward and backward of both models; raises AssertionError naming what differs."""
    __tracebackhide__ = True
    check, call, tol = ModelCheck(case.name, f"{case.name}.forward"), Call(inputs, training), tolerance(dtype)
    twin.train(training)
    torch_inputs = to_torch(inputs, DTYPES[dtype])
    expected = case.run_twin(twin, *torch_inputs)
    logits = model.forward(*inputs, training=training)
    assert_close(check, "logits", logits, expected, call, tol)
    for key, value in twin.state_dict().items():
        if is_buffer(key):
            assert_close(check, f"{key} (after the forward)", np.asarray(model.params[key]), value, call, tol)

    upstream = np.random.default_rng(seed).standard_normal(logits.shape).astype(logits.dtype)
    grads = model.backward(upstream)
    twin.zero_grad()
    expected.backward(torch.tensor(upstream))
    for key, parameter in twin.named_parameters():
        wanted = parameter.grad if parameter.grad is not None else torch.zeros_like(parameter)
        assert_close(check, f"gradient of {key}", grads.get(key), wanted, call, tol)
    if torch_inputs[0].requires_grad:
        assert_close(check, "gradient of the input", model.input_grad, torch_inputs[0].grad, call, tol)
