"""A small Transformer encoder classifier in NumPy, key for key its twin
``torch_impl.models.TransformerClassifier``."""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np

from ._engine import Model, SummaryRow, uniform_init


def sinusoidal_encoding(max_len: int, d_model: int) -> np.ndarray:
    """The Transformer's positional encoding, (max_len, d_model), float64: sin on even
    features, cos on odd (Vaswani et al. 2017), as the twin computes it."""
    position = np.arange(max_len, dtype=np.float64)[:, None]
    frequency = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(10000.0) / d_model))
    encoding = np.zeros((max_len, d_model))
    encoding[:, 0::2] = np.sin(position * frequency)
    encoding[:, 1::2] = np.cos(position * frequency)[:, : d_model // 2]
    return encoding


class TransformerClassifier(Model):
    """Embedding times sqrt(d_model) plus the positional encoding -> dropout -> ``num_layers``
    encoder layers (``transformer_encoder_layer_forward``, the padding masked out as keys)
    -> the mean over each sequence's own positions -> linear(d_model, num_classes).

    ``forward(tokens, lengths, training=False, dropout_masks=None)`` takes time-first token
    ids (T, N) and lengths (N,) and returns the logits (N, num_classes). The dropout acts in
    training only; ``dropout_masks`` (one bool array of the encoder input's shape, True =
    kept) fixes it, so that a training pass can be compared with PyTorch unit for unit. The
    encoder layers have no dropout of their own (the API's layer is eval-mode)."""

    def __init__(self, vocab_size: int, d_model: int, nhead: int, num_layers: int, dim_feedforward: int, num_classes: int,
                 max_len: int = 64, padding_idx: int = 0, norm_first: bool = False, activation: str = "relu", dropout: float = 0.1,
                 *, impl: ModuleType | None = None, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        params = {"embedding.weight": rng.standard_normal((vocab_size, d_model))}
        params["embedding.weight"][padding_idx] = 0  # nn.Embedding zeroes the padding row at init
        for layer in range(num_layers):
            prefix = f"layers.{layer}."
            shapes = {
                "self_attn.in_proj_weight": (3 * d_model, d_model), "self_attn.in_proj_bias": (3 * d_model,),
                "self_attn.out_proj.weight": (d_model, d_model), "self_attn.out_proj.bias": (d_model,),
                "linear1.weight": (dim_feedforward, d_model), "linear1.bias": (dim_feedforward,),
                "linear2.weight": (d_model, dim_feedforward), "linear2.bias": (d_model,),
            }  # fmt: skip
            for key, shape in shapes.items():
                params[prefix + key] = uniform_init(rng, shape, shape[-1] if len(shape) > 1 else d_model)
            for norm in ("norm1", "norm2"):
                params[f"{prefix}{norm}.weight"], params[f"{prefix}{norm}.bias"] = np.ones(d_model), np.zeros(d_model)
        params["fc.weight"] = uniform_init(rng, (num_classes, d_model), d_model)
        params["fc.bias"] = uniform_init(rng, (num_classes,), d_model)
        self.d_model, self.nhead, self.num_layers, self.padding_idx = d_model, nhead, num_layers, padding_idx
        self.norm_first, self.activation, self.dropout = norm_first, activation, dropout
        self.encoding = sinusoidal_encoding(max_len, d_model)
        super().__init__([], params, impl)

    def _layer_params(self, layer: int) -> dict[str, np.ndarray]:
        prefix = f"layers.{layer}."
        return {key[len(prefix):]: value for key, value in self.params.items() if key.startswith(prefix)}

    def forward(self, tokens, lengths, training: bool = False, dropout_masks=None):  # type: ignore[override]  # tokens and lengths
        impl, steps = self.impl, tokens.shape[0]
        weight = self.params["embedding.weight"]
        embedded, self.embedding_cache = impl.embedding_forward(tokens, weight, self.padding_idx)
        x = embedded * math.sqrt(self.d_model) + self.encoding[:steps, None, :].astype(weight.dtype)
        mask = None if dropout_masks is None else dropout_masks[0]
        x, self.dropout_cache = impl.dropout_forward(x, self.dropout, training, mask)
        padding = np.arange(steps)[None, :] >= np.asarray(lengths)[:, None]  # (N, T), True = padding
        self.layer_caches = []
        for layer in range(self.num_layers):
            x, cache = impl.transformer_encoder_layer_forward(x, self._layer_params(layer), self.nhead, self.norm_first, self.activation, 1e-5, padding)
            self.layer_caches.append(cache)
        logits, self.fc_cache = impl.linear_forward(self.pool(x, padding), self.params["fc.weight"], self.params["fc.bias"])
        return logits

    def pool(self, x: np.ndarray, padding: np.ndarray) -> np.ndarray:
        """The mean over each sequence's own positions (padding takes no part): (N, d_model)."""
        self.valid = (~padding).T[..., None].astype(x.dtype)  # (T, N, 1)
        self.counts = self.valid.sum(axis=0)  # (N, 1)
        return (x * self.valid).sum(axis=0) / self.counts

    def pool_backward(self, dpooled: np.ndarray) -> np.ndarray:
        return self.valid * (dpooled / self.counts)[None]

    def backward(self, dout) -> dict[str, np.ndarray]:
        impl = self.impl
        dpooled, dfc_weight, dfc_bias = impl.linear_backward(dout, self.fc_cache)
        grads = {"fc.weight": dfc_weight, "fc.bias": dfc_bias}
        dx = self.pool_backward(dpooled)
        for layer in reversed(range(self.num_layers)):
            dx, dparams = impl.transformer_encoder_layer_backward(dx, self.layer_caches[layer])
            grads |= {f"layers.{layer}.{key}": value for key, value in dparams.items()}
        dx = impl.dropout_backward(dx, self.dropout_cache)
        grads["embedding.weight"] = impl.embedding_backward(dx * math.sqrt(self.d_model), self.embedding_cache)
        return {key: grads[key] for key in self.named_parameters()}

    def summary(self, input_shape, lengths=None, dtype=np.float64) -> list[SummaryRow]:  # type: ignore[override]  # the lengths
        """As ``torchinfo.summary(twin, input_data=(tokens, lengths))`` with tokens (T, N)
        lists the leaf modules called, in order. The self-attention has no row there: it is
        not a leaf (``out_proj`` is its child), and ``out_proj`` is never called as a module
        (``F.multi_head_attention_forward`` reads its weight). The dropouts (p = 0) are."""
        steps, batch = input_shape
        model, feedforward = (steps, batch, self.d_model), self.params["layers.0.linear1.weight"].shape[0]
        norm = SummaryRow("norm", "LayerNorm", model, 2 * self.d_model)
        attention = [SummaryRow("dropout1", "Dropout", model, 0)]
        block = [
            SummaryRow("linear1", "Linear", (steps, batch, feedforward), (self.d_model + 1) * feedforward),
            SummaryRow("dropout", "Dropout", (steps, batch, feedforward), 0),
            SummaryRow("linear2", "Linear", model, (feedforward + 1) * self.d_model),
            SummaryRow("dropout2", "Dropout", model, 0),
        ]
        layer_rows = [norm, *attention, norm, *block] if self.norm_first else [*attention, norm, *block, norm]
        rows = [SummaryRow("embedding", "Embedding", model, self.params["embedding.weight"].size), SummaryRow("dropout", "Dropout", model, 0)]
        for layer in range(self.num_layers):
            rows += [SummaryRow(f"layers.{layer}.{row.name}", row.kind, row.output_shape, row.num_params) for row in layer_rows]
        rows.append(SummaryRow("fc", "Linear", (batch, self.params["fc.weight"].shape[0]), self.params["fc.weight"].size + self.params["fc.bias"].size))
        return rows
