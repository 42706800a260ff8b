"""Whole models: the NumPy model (on the implementation under test) against its PyTorch
twin, from the same weights: logits, every parameter gradient, the input gradient and the
batch-norm running statistics, in float64 and float32, eval and training mode; the
per-layer summary against torchinfo's; and five SGD steps trained side by side."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
import torchinfo

from .assertions import assert_close
from .model_cases import BY_NAME, CASES, ModelCase, load_twin_state, to_torch
from .op_entry import DEFAULT_TOLERANCES, Tolerance

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
                for tensor in (module.weight, module.bias, module.running_mean):
                    tensor.data.uniform_(-0.5, 0.5, generator=generator)
                module.running_var.data.uniform_(0.5, 1.5, generator=generator)
                module.weight.data += 1
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
        if key.endswith((".running_mean", ".running_var", ".num_batches_tracked")):
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


def modes(case: ModelCase) -> list[bool]:
    # LSTMModel's training mode has dropout inside nn.LSTM, whose masks PyTorch draws
    # itself: it is compared with fixed masks in test_lstm_model_training_with_fixed_masks.
    return [False] if case.name == "LSTMModel" else [False, True]


PARITY = [(case, dtype, training) for case in CASES for dtype in DTYPES for training in modes(case)]


@pytest.mark.check("forward")
@pytest.mark.parametrize(("case", "dtype", "training"), PARITY, ids=[f"{c.name}-{d}-{'train' if t else 'eval'}" for c, d, t in PARITY])
def test_model_parity(impl, case, dtype, training):
    impl.get(*(name for need in case.needs for name in (f"{need}_forward", f"{need}_backward")))  # else: not implemented
    twin, model = build_pair(case, impl.module, dtype)
    inputs = tuple(a.astype(dtype) if np.issubdtype(a.dtype, np.floating) else a for a in case.make_inputs(np.random.default_rng(0)))
    compare_models(case, twin, model, inputs, training=training, dtype=dtype)


@pytest.mark.check("forward")
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_summary_matches_torchinfo(case):
    twin, model = build_pair(case, None, "float64")
    inputs = case.make_inputs(np.random.default_rng(0))
    stats = torchinfo.summary(twin, **case.summary_input(inputs), dtypes=[torch.float64], verbose=0, device="cpu")
    theirs = [(layer.class_name, tuple(layer.output_size), layer.num_params) for layer in stats.summary_list if layer.is_leaf_layer and not layer.is_recursive]
    ours = [(row.kind, row.output_shape, row.num_params) for row in model.summary(*case.numpy_summary_args(inputs))]
    assert ours == theirs, f"{case.name}: summary differs from torchinfo's\n  ours:   {ours}\n  theirs: {theirs}"
    assert sum(v.size for v in model.named_parameters().values()) == stats.trainable_params


@pytest.mark.check("backward")
@pytest.mark.parametrize("case", [BY_NAME["LeNet5"], BY_NAME["ResNet-18-cifar"]], ids=lambda c: c.name)
def test_sgd_training_parity(impl, case):
    """Five SGD steps on one synthetic batch from the same weights: losses and weights
    equal at every step (float64)."""
    impl.get("cross_entropy_forward", "cross_entropy_backward", *(f"{n}_{p}" for n in case.needs for p in ("forward", "backward")))
    twin, model = build_pair(case, impl.module, "float64")
    rng = np.random.default_rng(0)
    (images,) = case.make_inputs(rng)
    labels = rng.integers(0, 10, size=images.shape[0])
    optimiser = torch.optim.SGD(twin.parameters(), lr=0.1)
    check, call = ModelCheck(case.name, f"{case.name}.forward"), Call((images,), True)
    twin.train()
    for step in range(5):
        loss, loss_cache = impl.module.cross_entropy_forward(model.forward(images, training=True), labels)
        grads = model.backward(impl.module.cross_entropy_backward(np.float64(1.0), loss_cache))
        for key, grad in grads.items():
            model.params[key] = model.params[key] - 0.1 * grad
        optimiser.zero_grad()
        torch_loss = torch.nn.functional.cross_entropy(twin(torch.tensor(images)), torch.tensor(labels))
        torch_loss.backward()
        optimiser.step()
        assert_close(check, f"loss at step {step}", np.asarray(loss), torch_loss, call, tolerance("float64"))
        for key, value in twin.state_dict().items():
            assert_close(check, f"{key} after step {step}", np.asarray(model.params[key]), value, call, tolerance("float64"))


@pytest.mark.check("forward")
@pytest.mark.parametrize("case", [BY_NAME["LSTMModel"]], ids=lambda c: c.name)
def test_lstm_model_training_with_fixed_masks(impl, case):
    """Training mode with dropout between the LSTM layers, masks fixed on both sides: the
    PyTorch side runs the module's own parameters layer by layer through the twins."""
    import torch_impl

    impl.get(*(f"{n}_{p}" for n in case.needs for p in ("forward", "backward")))
    twin, model = build_pair(case, impl.module, "float64")
    tokens, lengths = case.make_inputs(np.random.default_rng(0))
    mask = np.random.default_rng(1).random((tokens.shape[0], tokens.shape[1], 10)) >= 0.3
    logits = model.forward(tokens, lengths, training=True, dropout_masks=[mask])

    params = dict(twin.named_parameters())
    sequence = twin.embedding(torch.as_tensor(tokens))
    for layer in range(2):
        if layer:
            sequence = torch_impl.dropout(sequence, 0.3, True, torch.as_tensor(mask))
        layer_params = {k[len("lstm."):].replace(f"_l{layer}", "_l0"): v for k, v in params.items() if k.startswith("lstm.") and f"_l{layer}" in k}
        sequence, h_n, _ = torch_impl.lstm(sequence, None, None, layer_params, 1, True, lengths)
    expected = twin.fc(torch.cat([h_n[0], h_n[1]], dim=1)).squeeze(1)
    check, call = ModelCheck(case.name, f"{case.name}.forward"), Call((tokens, lengths), True)
    assert_close(check, "logits", logits, expected, call, tolerance("float64"))
    upstream = np.random.default_rng(2).standard_normal(logits.shape)
    grads = model.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for key, parameter in twin.named_parameters():
        assert_close(check, f"gradient of {key}", grads[key], parameter.grad, call, tolerance("float64"))


def test_resnet50_loads_a_torchvision_layout_state_dict():
    """The full-size ResNet-50: the twin's state_dict (torchvision's keys) loads unchanged."""
    import torch_impl.models as torch_models
    from reference import models

    state = {key: value.numpy() for key, value in torch_models.resnet50().state_dict().items()}
    model = models.resnet50()
    model.load_state_dict(state)
    assert set(model.params) == set(state)
    # torchvision's hallmarks: projection only in each stage's first block, fc 2048 -> 1000.
    assert "layer1.0.downsample.0.weight" in state and "layer1.1.downsample.0.weight" not in state
    assert state["fc.weight"].shape == (1000, 2048) and len(state) == 320


def test_lenet5_options_are_checked_on_both_sides():
    import torch_impl.models as torch_models
    from reference import models

    for build in (models.LeNet5, torch_models.LeNet5):
        with pytest.raises(ValueError, match="LeNet5: argument 'input_size'"):
            build(input_size=64)
        with pytest.raises(ValueError, match="LeNet5: argument 'activation'"):
            build(activation="sigmoid")
