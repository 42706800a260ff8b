"""Deliberately wrong *models*: classic mistakes in how layers are put together, which
layer-by-layer checks cannot see. ``tests/test_model_known_bugs.py`` requires the model
checks to catch each, naming the model and what differs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reference import models
from reference.models._steps import Flatten


class FlattenChannelsLast(Flatten):
    """Flattening (H, W, C) instead of PyTorch's (C, H, W): the classic slip when porting a
    Keras/TensorFlow model, or when images were kept channels-last."""

    def forward(self, model, x, training):
        self.shape = x.shape
        return x.transpose(0, 2, 3, 1).reshape(x.shape[0], -1)

    def backward(self, model, dout, grads):
        batch, channels, height, width = self.shape
        return dout.reshape(batch, height, width, channels).transpose(0, 3, 1, 2)


class LeNet5FlattenChannelsLast(models.LeNet5):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = [FlattenChannelsLast(s.name) if isinstance(s, Flatten) else s for s in self.steps]


class LSTMModelLastBatchElement(models.LSTMModel):
    """The widely copied version that runs a time-first LSTM and then takes
    ``output[:, -1, :]``: that is the last *batch element* at every time step."""

    def read_out(self, output, h_n):
        self.output_shape = output.shape
        return output[:, -1, :]

    def read_out_backward(self, dfeatures):
        doutput = np.zeros(self.output_shape, dtype=dfeatures.dtype)
        doutput[:, -1, :] = dfeatures
        return doutput, None


class LSTMModelLastTimeStep(models.LSTMModel):
    """``output[-1]``: for a bidirectional LSTM the last step holds the reverse direction's
    *first* step (and, for a padded sequence, zeros)."""

    def read_out(self, output, h_n):
        self.output_shape = output.shape
        return output[-1]

    def read_out_backward(self, dfeatures):
        doutput = np.zeros(self.output_shape, dtype=dfeatures.dtype)
        doutput[-1] = dfeatures
        return doutput, None


class TransformerMeanOverPadding(models.TransformerClassifier):
    """``x.mean(axis=0)``: the padding positions of shorter sequences join the mean (the
    encoder masked them as keys, but their outputs are still computed)."""

    def pool(self, x, padding):
        self.steps_count = x.shape[0]
        return x.mean(axis=0)

    def pool_backward(self, dpooled):
        return np.broadcast_to(dpooled / self.steps_count, (self.steps_count, *dpooled.shape)).copy()


@dataclass(frozen=True)
class ModelBug:
    name: str
    case: str  # the model case whose twin is the right answer
    build: type
    options: dict
    expected: str  # what the failure must name

    def __repr__(self) -> str:
        return f"ModelBug({self.name!r})"


MODEL_BUGS = (
    ModelBug("flatten in channels-last order", "LeNet5", LeNet5FlattenChannelsLast, {"num_classes": 10}, "logits"),
    ModelBug("output[:, -1, :] of a time-first LSTM", "LSTMModel", LSTMModelLastBatchElement, {"vocab_size": 12, "embedding_dim": 4, "hidden_dim": 5}, "logits"),
    ModelBug("output[-1] of a bidirectional LSTM", "LSTMModel", LSTMModelLastTimeStep, {"vocab_size": 12, "embedding_dim": 4, "hidden_dim": 5}, "logits"),
    ModelBug(
        "mean over the padding positions too", "TransformerClassifier", TransformerMeanOverPadding,
        {"vocab_size": 12, "d_model": 8, "nhead": 2, "num_layers": 2, "dim_feedforward": 16, "num_classes": 3}, "logits",
    ),
)
