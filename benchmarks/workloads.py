"""The benchmark workloads: realistic sizes, each runnable on every backend.

A workload makes its inputs once (``setup``), then returns, per backend, a callable that
runs one iteration: a forward pass, a forward and backward pass, or a training step.
``flops`` counts the multiply-adds (x2) of the forward pass where that is defined (conv,
linear, LSTM/GRU gates), times 3 for forward + backward (the backward of a matmul is two
matmuls of the same size); None where counting would be arbitrary (pooling, batch norm).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

import torch_impl
import torch_impl.models as torch_models
from reference import models as numpy_models

RNN_SIZE = {"steps": 50, "batch": 32, "inputs": 128, "hidden": 256}


@dataclass(frozen=True)
class Workload:
    name: str
    needs: tuple[str, ...]  # layer pairs of the implementation the NumPy side calls
    numpy: Callable  # (impl, rng) -> callable running one iteration in NumPy (float32)
    torch: Callable  # (device, rng) -> callable running one iteration in PyTorch (float32 tensors)
    flops: float | None = None
    # "forward": torch runs it under no_grad; "backward": with autograd; "training": the
    # torch callable takes (autocast context factory, GradScaler or None) itself.
    mode: str = "forward"
    steps: tuple[str, ...] = ()  # optimizer steps of the implementation the NumPy side calls


def _f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _tensor(array, device, requires_grad=False):
    return torch.tensor(array, device=device, requires_grad=requires_grad)


# ------------------------------------------------------------------------ conv2d


def conv_workload(name, *, batch, in_channels, out_channels, size, kernel, stride, padding, backward):
    out_size = (size + 2 * padding - kernel) // stride + 1
    flops = 2 * batch * out_channels * out_size**2 * in_channels * kernel**2 * (3 if backward else 1)

    def numpy_run(impl, rng):
        x, w = _f32(rng, batch, in_channels, size, size), _f32(rng, out_channels, in_channels, kernel, kernel) * 0.1
        dout = _f32(rng, batch, out_channels, out_size, out_size)

        def run():
            out, cache = impl.conv2d_forward(x, w, None, stride, padding)
            return impl.conv2d_backward(dout, cache) if backward else out

        return run

    def torch_run(device, rng):
        x = _tensor(_f32(rng, batch, in_channels, size, size), device, backward)
        w = _tensor(_f32(rng, out_channels, in_channels, kernel, kernel) * 0.1, device, backward)
        dout = _tensor(_f32(rng, batch, out_channels, out_size, out_size), device)

        def run():
            out = torch_impl.conv2d(x, w, None, stride, padding)
            if backward:
                return torch.autograd.grad(out, (x, w), dout)
            return out

        return run

    return Workload(name, ("conv2d",), numpy_run, torch_run, flops, "backward" if backward else "forward")


# -------------------------------------------------------------- one-array layers


def single_input_workload(name, layer, shape, *, hyper=(), flops=None, backward=False):
    """A layer of one float input (pooling, activation) or, for batch_norm/linear, with
    its parameters built by ``make_params``."""

    def numpy_run(impl, rng):
        x, dout_cache = _f32(rng, *shape), {}

        def run():
            out, cache = getattr(impl, f"{layer}_forward")(x, *hyper)
            if backward:
                dout = dout_cache.setdefault("dout", np.ones_like(out))
                return getattr(impl, f"{layer}_backward")(dout, cache)
            return out

        return run

    def torch_run(device, rng):
        x = _tensor(_f32(rng, *shape), device, backward)

        def run():
            out = getattr(torch_impl, layer)(x, *hyper)
            return torch.autograd.grad(out, x, torch.ones_like(out)) if backward else out

        return run

    return Workload(name, (layer,), numpy_run, torch_run, flops, "backward" if backward else "forward")


def batch_norm_workload(name, shape):
    channels = shape[1]

    def numpy_run(impl, rng):
        x, weight, bias = _f32(rng, *shape), np.ones(channels, np.float32), np.zeros(channels, np.float32)
        mean, var = np.zeros(channels, np.float32), np.ones(channels, np.float32)
        return lambda: impl.batch_norm_forward(x, weight, bias, mean, var, True)[0]

    def torch_run(device, rng):
        x = _tensor(_f32(rng, *shape), device)
        weight, bias = torch.ones(channels, device=device), torch.zeros(channels, device=device)
        mean, var = torch.zeros(channels, device=device), torch.ones(channels, device=device)
        return lambda: torch_impl.batch_norm(x, weight, bias, mean, var, True)

    return Workload(name, ("batch_norm",), numpy_run, torch_run)


def linear_workload(name, batch, in_features, out_features):
    def numpy_run(impl, rng):
        x, w, b = _f32(rng, batch, in_features), _f32(rng, out_features, in_features) * 0.05, _f32(rng, out_features)
        return lambda: impl.linear_forward(x, w, b)[0]

    def torch_run(device, rng):
        x = _tensor(_f32(rng, batch, in_features), device)
        w, b = _tensor(_f32(rng, out_features, in_features) * 0.05, device), _tensor(_f32(rng, out_features), device)
        return lambda: torch_impl.linear(x, w, b)

    return Workload(name, ("linear",), numpy_run, torch_run, 2 * batch * in_features * out_features)


# ---------------------------------------------------------------- recurrent layers


def recurrent_workload(name, kind, *, backward, **size):
    """An LSTM or GRU layer; ``size`` overrides RNN_SIZE's steps, batch, inputs or hidden."""
    steps, batch, inputs, hidden = ({**RNN_SIZE, **size}[k] for k in ("steps", "batch", "inputs", "hidden"))
    gates = {"lstm": 4, "gru": 3}[kind]
    flops = 2 * steps * batch * gates * hidden * (inputs + hidden) * (3 if backward else 1)

    def params(rng):
        scale = hidden**-0.5  # a Python float: keeps the arrays float32
        return {
            "weight_ih_l0": _f32(rng, gates * hidden, inputs) * scale,
            "weight_hh_l0": _f32(rng, gates * hidden, hidden) * scale,
            "bias_ih_l0": _f32(rng, gates * hidden) * scale,
            "bias_hh_l0": _f32(rng, gates * hidden) * scale,
        }

    def numpy_run(impl, rng):
        x, p = _f32(rng, steps, batch, inputs), params(rng)
        dout = _f32(rng, steps, batch, hidden)
        states = (None, None) if kind == "lstm" else (None,)

        def run():
            *outputs, cache = getattr(impl, f"{kind}_forward")(x, *states, p)
            if backward:
                upstream = (dout, None, None) if kind == "lstm" else (dout, None)
                return getattr(impl, f"{kind}_backward")(*upstream, cache)
            return outputs[0]

        return run

    def torch_run(device, rng):
        x = _tensor(_f32(rng, steps, batch, inputs), device, backward)
        p = {k: _tensor(v, device, backward) for k, v in params(rng).items()}
        dout = _tensor(_f32(rng, steps, batch, hidden), device)
        states = (None, None) if kind == "lstm" else (None,)

        def run():
            output = getattr(torch_impl, kind)(x, *states, p)[0]
            return torch.autograd.grad(output, (x, *p.values()), dout) if backward else output

        return run

    return Workload(name, (kind,), numpy_run, torch_run, flops, "backward" if backward else "forward")


# ------------------------------------------------------------------ blocks and models


def basic_block_workload(name, batch=16, channels=64, size=16):
    flops = 2 * 2 * batch * channels * size**2 * channels * 9

    def numpy_run(impl, rng):
        model = numpy_models.resnet18(width=channels)  # borrow one block's parameters
        params = {k[len("layer1.0."):]: v.astype(np.float32) for k, v in model.params.items() if k.startswith("layer1.0.")}
        x = _f32(rng, batch, channels, size, size)
        return lambda: impl.basic_block_forward(x, params, 1, False)[0]

    def torch_run(device, rng):
        block = torch_impl.BasicBlock(channels, channels).to(device).eval()
        x = _tensor(_f32(rng, batch, channels, size, size), device)
        return lambda: block(x)

    return Workload(name, ("basic_block",), numpy_run, torch_run, flops)


def lenet_training_workload(name, batch=64):
    def numpy_run(impl, rng):
        model = numpy_models.LeNet5(impl=impl).astype(np.float32)
        x, labels = _f32(rng, batch, 1, 32, 32), rng.integers(0, 10, size=batch)

        def run():
            loss, cache = impl.cross_entropy_forward(model.forward(x, training=True), labels)
            grads = model.backward(impl.cross_entropy_backward(np.float32(1), cache))
            for key, grad in grads.items():
                model.params[key] -= np.float32(0.01) * grad
            return loss

        return run

    def torch_run(device, rng):
        model = torch_models.LeNet5().to(device)
        optimiser = torch.optim.SGD(model.parameters(), lr=0.01)
        x, labels = _tensor(_f32(rng, batch, 1, 32, 32), device), torch.as_tensor(rng.integers(0, 10, size=batch), device=device)

        def step(autocast, scaler):
            optimiser.zero_grad()
            with autocast():
                loss = torch.nn.functional.cross_entropy(model(x), labels)
            if scaler is None:
                loss.backward()
                optimiser.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimiser)
                scaler.update()
            return loss

        return step

    needs = ("conv2d", "tanh", "avg_pool2d", "linear", "cross_entropy")
    return Workload(name, needs, numpy_run, torch_run, mode="training")


def resnet18_forward_workload(name, batch=8):
    def numpy_run(impl, rng):
        model = numpy_models.resnet18(impl=impl).astype(np.float32)
        x = _f32(rng, batch, 3, 32, 32)
        return lambda: model.forward(x, training=False)

    def torch_run(device, rng):
        model = torch_models.resnet18().to(device).eval()
        x = _tensor(_f32(rng, batch, 3, 32, 32), device)
        return lambda: model(x)

    return Workload(name, ("conv2d", "batch_norm", "relu", "basic_block", "adaptive_avg_pool2d", "linear"), numpy_run, torch_run, 0.56e9 * batch)


# ----------------------------------------------------------------------- attention

ATTENTION_SIZE = {"batch": 8, "heads": 8, "steps": 256, "head_dim": 64}


def attention_workload(name, *, backward):
    """Scaled dot-product attention, self-attention over (batch, heads, steps, head_dim):
    two matmuls of steps x steps x head_dim per head (x3 with the backward)."""
    shape = tuple(ATTENTION_SIZE.values())
    batch, heads, steps, head_dim = shape
    flops = 2 * 2 * batch * heads * steps * steps * head_dim * (3 if backward else 1)

    def numpy_run(impl, rng):
        query, key, value, dout = (_f32(rng, *shape) for _ in range(4))

        def run():
            out, cache = impl.scaled_dot_product_attention_forward(query, key, value)
            return impl.scaled_dot_product_attention_backward(dout, cache) if backward else out

        return run

    def torch_run(device, rng):
        query, key, value = (_tensor(_f32(rng, *shape), device, backward) for _ in range(3))
        dout = _tensor(_f32(rng, *shape), device)

        def run():
            out = torch_impl.scaled_dot_product_attention(query, key, value)
            return torch.autograd.grad(out, (query, key, value), dout) if backward else out

        return run

    return Workload(name, ("scaled_dot_product_attention",), numpy_run, torch_run, flops, "backward" if backward else "forward")


# ---------------------------------------------------------------------- optimizers

# A 10M-parameter model's dict: ten 1000 x 1000 weights (float32).
OPTIMIZER_SHAPES = {f"layer{i}.weight": (1000, 1000) for i in range(10)}
OPTIMIZERS = {  # API step -> (torch.optim class, options)
    "sgd": (torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}),
    "adam": (torch.optim.Adam, {"lr": 1e-3}),
    "adamw": (torch.optim.AdamW, {"lr": 1e-3}),
    "rmsprop": (torch.optim.RMSprop, {"lr": 1e-3, "momentum": 0.9}),
}


def optimizer_workload(name, optimizer):
    """One step over a 10M-parameter dict, the state carried from step to step (the
    first, untimed, warm-up step creates it). PyTorch's is torch.optim's default, the
    single-tensor loop on the CPU (and foreach on CUDA)."""
    torch_class, options = OPTIMIZERS[optimizer]

    def numpy_run(impl, rng):
        params = {key: _f32(rng, *shape) for key, shape in OPTIMIZER_SHAPES.items()}
        grads = {key: _f32(rng, *shape) * np.float32(1e-2) for key, shape in OPTIMIZER_SHAPES.items()}
        step, carried = getattr(impl, f"{optimizer}_step"), {"params": params, "state": None}

        def run():
            carried["params"], carried["state"] = step(carried["params"], grads, carried["state"], **options)

        return run

    def torch_run(device, rng):
        tensors = [_tensor(_f32(rng, *shape), device) for shape in OPTIMIZER_SHAPES.values()]
        for tensor in tensors:
            tensor.grad = _tensor(_f32(rng, *tensor.shape) * np.float32(1e-2), device)
        return torch_class(tensors, **options).step

    return Workload(name, (), numpy_run, torch_run, steps=(optimizer,))


WORKLOADS = (
    conv_workload("conv2d-3x3-64ch-fwd", batch=16, in_channels=64, out_channels=64, size=32, kernel=3, stride=1, padding=1, backward=False),
    conv_workload("conv2d-3x3-64ch-fwd+bwd", batch=16, in_channels=64, out_channels=64, size=32, kernel=3, stride=1, padding=1, backward=True),
    conv_workload("conv2d-3x3-stride2-fwd", batch=16, in_channels=64, out_channels=128, size=32, kernel=3, stride=2, padding=1, backward=False),
    conv_workload("conv2d-first-layer-3ch-fwd", batch=16, in_channels=3, out_channels=64, size=32, kernel=3, stride=1, padding=1, backward=False),
    single_input_workload("max_pool2d-2x2-fwd", "max_pool2d", (16, 64, 32, 32), hyper=(2,)),
    batch_norm_workload("batch_norm-train-fwd", (16, 64, 32, 32)),
    linear_workload("linear-1024x1024-fwd", 256, 1024, 1024),
    recurrent_workload("lstm-fwd", "lstm", backward=False),
    recurrent_workload("lstm-fwd+bwd", "lstm", backward=True),
    recurrent_workload("gru-fwd", "gru", backward=False),
    basic_block_workload("basic_block-64ch-fwd"),
    lenet_training_workload("lenet5-train-step"),
    resnet18_forward_workload("resnet18-cifar-fwd"),
    attention_workload("attention-8x8x256x64-fwd", backward=False),
    attention_workload("attention-8x8x256x64-fwd+bwd", backward=True),
    *(optimizer_workload(f"{optimizer}-step-10M", optimizer) for optimizer in OPTIMIZERS),
)
