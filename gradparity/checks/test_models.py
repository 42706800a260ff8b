"""Whole models: the NumPy model, on the implementation's layers, against its PyTorch twin
from the same weights, in float64 and float32, eval and training mode; and SGD steps,
and the implementation's own Adam steps, trained side by side. A model whose layers use a feature the implementation leaves out
(``ResNet`` needs ``conv2d`` with ``bias=None``) is not checked, and the table says so."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ..assertions import assert_close
from ..model_cases import BY_NAME, CASES, ModelCase
from ..model_checks import DTYPES, Call, ModelCheck, build_pair, compare_models, tolerance
from ..registry import BY_NAME as LAYERS


def require(impl, case: ModelCase, *extra: str) -> None:
    """The layers the model calls (else: not implemented) and the features it needs (else: not checked)."""
    impl.get(*(name for need in (*case.needs, *extra) for name in (f"{need}_forward", f"{need}_backward")))
    impl.require_features(case.needs_features, LAYERS)


def modes(case: ModelCase) -> list[bool]:
    # In training, LSTMModel's dropout (inside nn.LSTM) and TransformerClassifier's draw
    # their masks in PyTorch: they are compared with fixed masks (test_*_with_fixed_masks).
    return [False] if case.name in ("LSTMModel", "TransformerClassifier") else [False, True]


PARITY = [(case, dtype, training) for case in CASES for dtype in DTYPES for training in modes(case)]


@pytest.mark.check("forward")
@pytest.mark.parametrize(("case", "dtype", "training"), PARITY, ids=[f"{c.name}-{d}-{'train' if t else 'eval'}" for c, d, t in PARITY])
def test_model_parity(impl, contract, case, dtype, training):
    require(impl, case)
    twin, model = build_pair(case, impl.module, dtype)
    inputs = tuple(a.astype(dtype) if np.issubdtype(a.dtype, np.floating) else a for a in case.make_inputs(np.random.default_rng(0)))
    with contract.watching(case.name, "its layers", lambda: repr(Call(inputs, training))):
        compare_models(case, twin, model, inputs, training=training, dtype=dtype)


def train_side_by_side(impl, case: ModelCase, make_optimiser, update, *, classes: int, steps: int = 5) -> None:
    """``steps`` training steps of the NumPy model (on the implementation's layers, its
    parameters updated by ``update(model, grads)``) beside the PyTorch twin (its optimiser
    ``make_optimiser(parameters)``) on one synthetic batch, from the same weights: losses
    and weights equal at every step (float64). Dropout is off on both sides: its masks
    would be PyTorch's own draws (training with dropout is compared with fixed masks)."""
    __tracebackhide__ = True
    twin, model = build_pair(case, impl.module, "float64")
    for module in twin.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    if hasattr(model, "dropout"):
        model.dropout = 0.0
    optimiser = make_optimiser(twin.parameters())
    rng = np.random.default_rng(0)
    inputs = case.make_inputs(rng)
    labels = rng.integers(0, classes, size=inputs[0].shape[-1 if len(inputs) > 1 else 0])  # tokens (T, N); images (N, ...)
    check, call = ModelCheck(case.name, f"{case.name}.forward"), Call(inputs, True)
    twin.train()
    for step in range(steps):
        loss, loss_cache = impl.module.cross_entropy_forward(model.forward(*inputs, training=True), labels)
        update(model, model.backward(impl.module.cross_entropy_backward(np.float64(1.0), loss_cache)))
        optimiser.zero_grad()
        torch_loss = torch.nn.functional.cross_entropy(case.run_twin(twin, *(torch.as_tensor(a) for a in inputs)), torch.as_tensor(labels))
        torch_loss.backward()
        optimiser.step()
        assert_close(check, f"loss at step {step}", np.asarray(loss), torch_loss, call, tolerance("float64"))
        for key, value in twin.state_dict().items():
            assert_close(check, f"{key} after step {step}", np.asarray(model.params[key]), value, call, tolerance("float64"))


@pytest.mark.check("backward")
@pytest.mark.parametrize("case", [BY_NAME["LeNet5"], BY_NAME["ResNet-18-cifar"]], ids=lambda c: c.name)
def test_sgd_training_parity(impl, case):
    """Five SGD steps on one synthetic batch from the same weights: losses and weights
    equal at every step (float64)."""
    require(impl, case, "cross_entropy")

    def sgd(model, grads):
        for key, grad in grads.items():
            model.params[key] = model.params[key] - 0.1 * grad

    train_side_by_side(impl, case, lambda parameters: torch.optim.SGD(parameters, lr=0.1), sgd, classes=10)


@pytest.mark.check("backward")
@pytest.mark.parametrize("case", [BY_NAME["TransformerClassifier"]], ids=lambda c: c.name)
def test_adam_training_parity(impl, contract, case):
    """Five steps of the implementation's adam_step (on its layers) beside torch.optim.Adam,
    from the same weights: losses and weights equal at every step (float64)."""
    require(impl, case, "cross_entropy")
    adam_step = impl.get("adam_step")
    state: dict = {}

    def adam(model, grads):
        with contract.watching(case.name, "adam_step", lambda: f"adam_step(params of {case.name}, grads, state, lr=0.01)"):
            new_params, state["adam"] = adam_step({key: model.params[key] for key in grads}, grads, state.get("adam"), 0.01)
        model.params.update(new_params)

    train_side_by_side(impl, case, lambda parameters: torch.optim.Adam(parameters, lr=0.01, foreach=False), adam, classes=3)


def compare_with_fixed_masks(case: ModelCase, model, logits: np.ndarray, expected: torch.Tensor, twin, call: Call) -> None:
    """Logits and every parameter gradient of a training pass whose dropout masks were
    fixed on both sides (float64)."""
    __tracebackhide__ = True
    check = ModelCheck(case.name, f"{case.name}.forward")
    assert_close(check, "logits", logits, expected, call, tolerance("float64"))
    upstream = np.random.default_rng(2).standard_normal(logits.shape)
    grads = model.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for key, parameter in twin.named_parameters():
        assert_close(check, f"gradient of {key}", grads[key], parameter.grad, call, tolerance("float64"))


@pytest.mark.check("forward")
@pytest.mark.parametrize("case", [BY_NAME["LSTMModel"]], ids=lambda c: c.name)
def test_lstm_model_training_with_fixed_masks(impl, case):
    """Training mode with dropout between the LSTM layers, masks fixed on both sides: the
    PyTorch side runs the module's own parameters layer by layer through the twins."""
    import torch_impl

    require(impl, case)
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
    compare_with_fixed_masks(case, model, logits, expected, twin, Call((tokens, lengths), True))


@pytest.mark.check("forward")
@pytest.mark.parametrize("case", [BY_NAME["TransformerClassifier"]], ids=lambda c: c.name)
def test_transformer_training_with_fixed_masks(impl, case):
    """Training mode with dropout on the encoder's input, the mask fixed on both sides."""
    import torch_impl

    require(impl, case)
    twin, model = build_pair(case, impl.module, "float64")
    tokens, lengths = case.make_inputs(np.random.default_rng(0))
    mask = np.random.default_rng(1).random((*tokens.shape, model.d_model)) >= model.dropout
    logits = model.forward(tokens, lengths, training=True, dropout_masks=[mask])
    twin.train()
    dropped = torch_impl.dropout(twin.embed(torch.as_tensor(tokens)), model.dropout, True, torch.as_tensor(mask))
    compare_with_fixed_masks(case, model, logits, twin.encode(dropped, torch.as_tensor(lengths)), twin, Call((tokens, lengths), True))
