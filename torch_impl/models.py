"""The classic models, written as a PyTorch user would write them.

- ``LeNet5``: LeCun et al. 1998 as taught in the courses: conv 6@5x5, pool, conv 16@5x5,
  pool, 120, 84, classes; tanh and average pooling by default.
- ``ResNet`` with ``resnet18``/``resnet34`` (CIFAR stem: 3x3 conv, no max-pool) and
  ``resnet50`` (ImageNet stem, torchvision's layout: its state_dict loads unchanged).
- ``SimpleRNN``: the character-level classifier of the PyTorch tutorial.
- ``LSTMModel``: embedding -> 2-layer bidirectional LSTM -> linear(2H, 1), variable lengths.
- ``TransformerClassifier``: embedding + positional encoding -> N encoder layers -> mean -> linear.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from .residual import BasicBlock, Bottleneck


def _choice(name: str, value, choices: dict):
    """``choices[value]``, or LeNet5's ValueError naming the argument, as the NumPy model
    raises it (written here again: the oracle does not import what it judges)."""
    if value not in choices:
        raise ValueError(f"LeNet5: argument '{name}' must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return choices[value]


class LeNet5(nn.Module):
    """LeNet-5 for 32x32 inputs, or 28x28 (MNIST) padded by 2 in the first convolution."""

    def __init__(self, num_classes: int = 10, activation: str = "tanh", pooling: str = "avg", input_size: int = 32, in_channels: int = 1):
        super().__init__()
        act = _choice("activation", activation, {"tanh": nn.Tanh, "relu": nn.ReLU})
        pool = _choice("pooling", pooling, {"avg": nn.AvgPool2d, "max": nn.MaxPool2d})
        first_padding = _choice("input_size", input_size, {32: 0, 28: 2})  # MNIST's 28x28 is padded to 32x32
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=first_padding),
            act(),
            pool(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5),
            act(),
            pool(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            act(),
            nn.Linear(120, 84),
            act(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class ResNet(nn.Module):
    """A ResNet of ``block``s, ``layers`` blocks per stage, stage widths ``width * (1, 2, 4, 8)``.

    ``stem='cifar'``: a 3x3 stride-1 convolution and no max-pool (for 32x32 images);
    ``stem='imagenet'``: torchvision's 7x7 stride-2 convolution and 3x3 max-pool.
    Attribute names follow torchvision (conv1, bn1, layer1..layer4, avgpool, fc).
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: list[int], num_classes: int = 10, width: int = 64, stem: str = "cifar", in_channels: int = 3):
        super().__init__()
        if stem not in ("cifar", "imagenet"):
            raise ValueError(f"ResNet: argument 'stem' must be 'cifar' or 'imagenet'; got {stem!r}")
        self.in_planes = width
        if stem == "cifar":
            self.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1) if stem == "imagenet" else None
        self.layer1 = self._make_layer(block, width, layers[0], stride=1)
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)

    def _make_layer(self, block, planes: int, blocks: int, stride: int) -> nn.Sequential:
        stage = []
        for block_stride in [stride] + [1] * (blocks - 1):
            stage.append(block(self.in_planes, planes, block_stride))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(num_classes: int = 10, width: int = 64) -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, width, stem="cifar")


def resnet34(num_classes: int = 10, width: int = 64) -> ResNet:
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, width, stem="cifar")


def resnet50(num_classes: int = 1000, width: int = 64) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, width, stem="imagenet")


class SimpleRNN(nn.Module):
    """The PyTorch tutorial's character-level RNN classifier: one step per character,
    ``hidden = i2h([input, hidden])``, ``output = log_softmax(i2o([input, hidden]))``."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        combined = torch.cat((input, hidden), 1)
        hidden = self.i2h(combined)
        output = self.softmax(self.i2o(combined))
        return output, hidden

    def init_hidden(self, batch_size: int = 1) -> torch.Tensor:
        return torch.zeros(batch_size, self.hidden_size, dtype=self.i2h.weight.dtype, device=self.i2h.weight.device)

    def classify(self, sequence: torch.Tensor) -> torch.Tensor:
        """Log-probabilities after the whole ``sequence`` (T, N, input_size), one step a character."""
        hidden = self.init_hidden(sequence.shape[1])
        for step in sequence:
            output, hidden = self(step, hidden)
        return output


class LSTMModel(nn.Module):
    """Embedding -> 2-layer bidirectional LSTM (dropout between layers) -> linear(2H, 1).

    Takes time-first token ids ``(T, N)`` and their ``lengths``; the logit of each sequence
    comes from the *final states* of both directions of the last layer, ``h_n[-2]``
    (forward, at the sequence's own last step) and ``h_n[-1]`` (reverse, at step 0).
    Not ``output[-1]``: for padded sequences that step is padding, and for the reverse
    direction it holds the state after one step, not after the whole sequence.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_dim: int, num_layers: int = 2, dropout: float = 0.3, padding_idx: int = 0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=num_layers, bidirectional=True, dropout=dropout)
        self.fc = nn.Linear(2 * hidden_dim, 1)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(self.embedding(tokens), lengths.cpu(), enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)
        return self.fc(torch.cat([h_n[-2], h_n[-1]], dim=1)).squeeze(1)


def sinusoidal_encoding(max_len: int, d_model: int) -> torch.Tensor:
    """The Transformer's positional encoding (Vaswani et al. 2017), (max_len, d_model) in
    float64: sin on even features, cos on odd, wavelengths 2 pi to 10000 * 2 pi."""
    position = torch.arange(max_len, dtype=torch.float64)[:, None]
    frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model))
    encoding = torch.zeros(max_len, d_model, dtype=torch.float64)
    encoding[:, 0::2] = torch.sin(position * frequency)
    encoding[:, 1::2] = torch.cos(position * frequency)[:, : d_model // 2]
    return encoding


class TransformerClassifier(nn.Module):
    """Embedding (scaled by sqrt(d_model)) + sinusoidal positional encoding -> dropout ->
    ``num_layers`` ``nn.TransformerEncoderLayer`` (time first, post-norm by default; their
    own dropout 0, as the API's encoder layer is eval-mode) -> the mean over each
    sequence's own positions -> linear(d_model, num_classes).

    Takes time-first token ids ``(T, N)`` and their ``lengths``: the positions past a
    sequence's length are padding, masked out as keys (``src_key_padding_mask``) and left
    out of the mean. The encoding is a non-persistent buffer: the state_dict holds only
    what is trained.
    """

    def __init__(self, vocab_size: int, d_model: int, nhead: int, num_layers: int, dim_feedforward: int, num_classes: int,
                 max_len: int = 64, padding_idx: int = 0, norm_first: bool = False, activation: str = "relu", dropout: float = 0.1):
        super().__init__()
        self.d_model = d_model
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("positional_encoding", sinusoidal_encoding(max_len, d_model).float(), persistent=False)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0.0, activation=activation, norm_first=norm_first)
            for _ in range(num_layers)
        )
        self.fc = nn.Linear(d_model, num_classes)

    def _apply(self, fn, recurse=True):
        module = super()._apply(fn, recurse)
        # The encoding in the model's dtype, computed in float64 (not rounded through float32).
        dtype = self.fc.weight.dtype
        self.positional_encoding = sinusoidal_encoding(*self.positional_encoding.shape).to(device=self.fc.weight.device, dtype=dtype)
        return module

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """The encoder's input before the dropout: scaled embedding plus the encoding."""
        return self.embedding(tokens) * math.sqrt(self.d_model) + self.positional_encoding[: tokens.shape[0], None, :]

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encode(self.dropout(self.embed(tokens)), lengths)

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The encoder layers, the mean over each sequence's positions and the head."""
        steps = x.shape[0]
        padding = torch.arange(steps, device=x.device)[None, :] >= lengths.to(x.device)[:, None]  # (N, T), True = padding
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=padding)
        valid = (~padding).T[..., None].to(x.dtype)  # (T, N, 1)
        return self.fc((x * valid).sum(0) / valid.sum(0))
