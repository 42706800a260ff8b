"""The models the suite checks whole: each case builds the PyTorch twin, the NumPy model on
the implementation under test (loaded from the twin's state_dict) and an input batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import torch_impl.models as torch_models
from reference import models as numpy_models
from torch_impl.residual import Bottleneck

from .assertions import as_numpy


@dataclass(frozen=True)
class ModelCase:
    name: str
    build_twin: Callable[[], torch.nn.Module]
    build_numpy: Callable[..., numpy_models.Model]  # (impl=...) -> model
    make_inputs: Callable[[np.random.Generator], tuple]  # NumPy inputs of the forward
    run_twin: Callable[..., torch.Tensor]  # (twin, *torch inputs) -> logits
    needs: tuple[str, ...]  # the layer functions the NumPy model calls
    summary_input: Callable[[tuple], dict[str, Any]]  # torchinfo.summary arguments for the inputs
    numpy_summary_args: Callable[[tuple], tuple]  # the NumPy model's summary(...) arguments for the inputs
    has_batch_norm: bool = False
    # Optional features of its layers that the model uses (``op_entry.Feature`` names): an
    # implementation that leaves one out cannot run the model.
    needs_features: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"ModelCase({self.name!r})"


def to_torch(inputs: tuple, dtype) -> tuple:
    """Float arrays become float tensors of ``dtype`` requiring grad; integer arrays stay integer."""
    return tuple(
        torch.tensor(a, dtype=dtype, requires_grad=True) if np.issubdtype(a.dtype, np.floating) else torch.as_tensor(a)
        for a in inputs
    )


def load_twin_state(model: numpy_models.Model, twin: torch.nn.Module, dtype) -> numpy_models.Model:
    model.load_state_dict({key: as_numpy(value) for key, value in twin.state_dict().items()})
    return model.astype(dtype)


def _images(shape):
    return lambda rng: (rng.standard_normal(shape),)


def _tokens(steps: int, batch: int, vocab: int):
    def make(rng):
        lengths = rng.integers(1, steps + 1, size=batch)
        lengths[rng.integers(batch)] = steps  # some sequence spans the whole batch
        tokens = rng.integers(1, vocab, size=(steps, batch))
        tokens[np.arange(steps)[:, None] >= lengths[None, :]] = 0  # padding_idx past each length
        return tokens, lengths

    return make


CONV_LAYERS = ("conv2d", "batch_norm", "relu", "linear", "adaptive_avg_pool2d")
RESNET_FEATURES = {
    "conv2d": ("bias=None",),
    "batch_norm": ("eval mode", "spatial inputs"),
    "adaptive_avg_pool2d": ("pair output_size",),
}
CASES = (
    ModelCase(
        name="LeNet5",
        build_twin=lambda: torch_models.LeNet5(num_classes=10),
        build_numpy=lambda impl=None: numpy_models.LeNet5(num_classes=10, impl=impl),
        make_inputs=_images((3, 1, 32, 32)),
        run_twin=lambda twin, x: twin(x),
        needs=("conv2d", "tanh", "avg_pool2d", "linear"),
        summary_input=lambda inputs: {"input_size": inputs[0].shape},
        numpy_summary_args=lambda inputs: (inputs[0].shape,),
    ),
    ModelCase(
        name="LeNet5-relu-maxpool-mnist",
        build_twin=lambda: torch_models.LeNet5(num_classes=10, activation="relu", pooling="max", input_size=28),
        build_numpy=lambda impl=None: numpy_models.LeNet5(num_classes=10, activation="relu", pooling="max", input_size=28, impl=impl),
        make_inputs=_images((3, 1, 28, 28)),
        run_twin=lambda twin, x: twin(x),
        needs=("conv2d", "relu", "max_pool2d", "linear"),
        summary_input=lambda inputs: {"input_size": inputs[0].shape},
        numpy_summary_args=lambda inputs: (inputs[0].shape,),
    ),
    ModelCase(
        name="ResNet-18-cifar",
        build_twin=lambda: torch_models.resnet18(num_classes=10, width=4),
        build_numpy=lambda impl=None: numpy_models.resnet18(num_classes=10, width=4, impl=impl),
        make_inputs=_images((2, 3, 16, 16)),
        run_twin=lambda twin, x: twin(x),
        needs=(*CONV_LAYERS, "basic_block"),
        summary_input=lambda inputs: {"input_size": inputs[0].shape},
        numpy_summary_args=lambda inputs: (inputs[0].shape,),
        has_batch_norm=True,
        needs_features={**RESNET_FEATURES, "basic_block": ("eval mode",)},
    ),
    ModelCase(
        name="ResNet-50-layout",
        build_twin=lambda: torch_models.ResNet(Bottleneck, [1, 1, 1, 1], num_classes=10, width=4, stem="imagenet"),
        build_numpy=lambda impl=None: numpy_models.ResNet("bottleneck", [1, 1, 1, 1], num_classes=10, width=4, stem="imagenet", impl=impl),
        # 64x64: the last stage still has 2x2 pixels, so its batch norms see 8 values per
        # channel (with 2 they output +-1 whatever the input: a gradient of pure rounding).
        make_inputs=_images((2, 3, 64, 64)),
        run_twin=lambda twin, x: twin(x),
        needs=(*CONV_LAYERS, "max_pool2d", "bottleneck"),
        summary_input=lambda inputs: {"input_size": inputs[0].shape},
        numpy_summary_args=lambda inputs: (inputs[0].shape,),
        has_batch_norm=True,
        needs_features={**RESNET_FEATURES, "max_pool2d": ("padding",), "bottleneck": ("eval mode",)},
    ),
    ModelCase(
        name="SimpleRNN",
        build_twin=lambda: torch_models.SimpleRNN(input_size=5, hidden_size=6, output_size=4),
        build_numpy=lambda impl=None: numpy_models.SimpleRNN(input_size=5, hidden_size=6, output_size=4, impl=impl),
        make_inputs=_images((7, 3, 5)),
        run_twin=lambda twin, x: twin.classify(x),
        needs=("linear", "log_softmax"),
        needs_features={"log_softmax": ("dim",)},
        summary_input=lambda inputs: {"input_data": (torch.zeros(inputs[0].shape[1:], dtype=torch.float64), torch.zeros(inputs[0].shape[1], 6, dtype=torch.float64))},
        numpy_summary_args=lambda inputs: (inputs[0].shape[1:],),
    ),
    ModelCase(
        name="LSTMModel",
        build_twin=lambda: torch_models.LSTMModel(vocab_size=12, embedding_dim=4, hidden_dim=5),
        build_numpy=lambda impl=None: numpy_models.LSTMModel(vocab_size=12, embedding_dim=4, hidden_dim=5, impl=impl),
        make_inputs=_tokens(steps=6, batch=4, vocab=12),
        run_twin=lambda twin, tokens, lengths: twin(tokens, lengths),
        needs=("embedding", "lstm", "dropout", "linear"),
        needs_features={
            "embedding": ("padding_idx",),
            "lstm": ("bidirectional", "lengths", "h0=None", "None upstream gradients"),
            "dropout": ("eval mode",),
        },
        summary_input=lambda inputs: {"input_data": (torch.as_tensor(inputs[0]), torch.as_tensor(inputs[1]))},
        numpy_summary_args=lambda inputs: (inputs[0].shape, inputs[1]),
    ),
    ModelCase(
        name="TransformerClassifier",
        build_twin=lambda: torch_models.TransformerClassifier(vocab_size=12, d_model=8, nhead=2, num_layers=2, dim_feedforward=16, num_classes=3),
        build_numpy=lambda impl=None: numpy_models.TransformerClassifier(
            vocab_size=12, d_model=8, nhead=2, num_layers=2, dim_feedforward=16, num_classes=3, impl=impl,
        ),
        make_inputs=_tokens(steps=6, batch=4, vocab=12),
        run_twin=lambda twin, tokens, lengths: twin(tokens, lengths),
        needs=("embedding", "dropout", "transformer_encoder_layer", "linear"),
        needs_features={"embedding": ("padding_idx",), "dropout": ("eval mode",), "transformer_encoder_layer": ("src_key_padding_mask",)},
        summary_input=lambda inputs: {"input_data": (torch.as_tensor(inputs[0]), torch.as_tensor(inputs[1]))},
        numpy_summary_args=lambda inputs: (inputs[0].shape, inputs[1]),
    ),
)

BY_NAME = {case.name: case for case in CASES}
__all__ = ["BY_NAME", "CASES", "ModelCase", "load_twin_state", "to_torch"]
