"""PyTorch twins of the reference layers: same names without ``_forward``, same arguments.

Each twin is what a PyTorch user would write; autograd provides the backward pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride=1, padding=0, dilation=1, groups=1) -> torch.Tensor:
    return F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def max_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False) -> torch.Tensor:
    return F.max_pool2d(x, kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)


def avg_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad)


def adaptive_avg_pool2d(x: torch.Tensor, output_size) -> torch.Tensor:
    return F.adaptive_avg_pool2d(x, output_size)


# ------------------------------------------------- dense layers, activations, dropout


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    return F.linear(x, weight, bias)


def relu(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x)


def tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x)


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x)


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return torch.softmax(x, dim=dim)


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return torch.log_softmax(x, dim=dim)


def embedding(indices: torch.Tensor, weight: torch.Tensor, padding_idx: int | None = None) -> torch.Tensor:
    return F.embedding(indices.long(), weight, padding_idx=padding_idx)


def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``F.dropout`` when no mask is given; with a mask (True = kept), the same inverted
    dropout with that mask, so that NumPy and PyTorch can drop the same units."""
    if mask is None or not training:
        return F.dropout(x, p=p, training=training)
    if p == 1:
        return x * 0
    return x * mask.to(x.dtype) / (1 - p)


# ------------------------------------------------------------------------------ losses


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean", ignore_index: int = -100) -> torch.Tensor:
    return F.cross_entropy(logits, target.long(), reduction=reduction, ignore_index=ignore_index)


def nll_loss(log_probs: torch.Tensor, target: torch.Tensor, reduction: str = "mean", ignore_index: int = -100) -> torch.Tensor:
    return F.nll_loss(log_probs, target.long(), reduction=reduction, ignore_index=ignore_index)


def mse_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    return F.mse_loss(input, target, reduction=reduction)


def binary_cross_entropy_with_logits(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, target, reduction=reduction)


# ----------------------------------------------------------------------- normalisation


def batch_norm(
    x: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    """As ``torch.nn.BatchNorm*d``: without running statistics (track_running_stats=False)
    batch statistics are used in eval mode too. Running statistics update in place."""
    use_batch_stats = training or running_mean is None
    return F.batch_norm(x, running_mean, running_var, weight, bias, training=use_batch_stats, momentum=momentum, eps=eps)


def layer_norm(x: torch.Tensor, normalized_shape, weight: torch.Tensor | None = None, bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    return F.layer_norm(x, shape, weight, bias, eps)


def group_norm(x: torch.Tensor, num_groups: int, weight: torch.Tensor | None = None, bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """``F.group_norm``. A bias without a weight goes with a weight of ones, the same values:
    PyTorch 2.13's CPU backward of ``F.group_norm(x, G, None, bias)`` fails computing the
    bias gradient ("RuntimeError: tensor does not have a device")."""
    if weight is None and bias is not None:
        weight = torch.ones_like(bias)
    return F.group_norm(x, num_groups, weight, bias, eps)


# ------------------------------------------------------------------- recurrent layers


RNN_CELLS = {"tanh": torch.rnn_tanh_cell, "relu": torch.rnn_relu_cell}


def rnn_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """What ``torch.nn.RNNCell`` runs, with the parameters passed in."""
    if nonlinearity not in RNN_CELLS:  # as nn.RNNCell
        raise ValueError(f"Unknown nonlinearity: {nonlinearity}. Select from 'tanh' or 'relu'.")
    return RNN_CELLS[nonlinearity](x, h, weight_ih, weight_hh, bias_ih, bias_hh)


def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """What ``torch.nn.LSTMCell`` runs: returns ``(h_next, c_next)``."""
    return torch.lstm_cell(x, (h, c), weight_ih, weight_hh, bias_ih, bias_hh)


def gru_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """What ``torch.nn.GRUCell`` runs."""
    return torch.gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)


def _run_module(module_type, x, states, params, num_layers, bidirectional, lengths, **options):
    """Run ``torch.nn.RNN``/``LSTM``/``GRU`` with the given ``params`` (``functional_call``,
    so gradients reach them); variable lengths go through ``pack_padded_sequence``."""
    steps, batch, input_size = x.shape
    hidden = params["weight_hh_l0"].shape[1]
    module = module_type(
        input_size, hidden, num_layers=num_layers, bias="bias_ih_l0" in params, bidirectional=bidirectional,
        device=x.device, dtype=x.dtype, **options,
    )
    sequence = x
    if lengths is not None:
        sequence = pack_padded_sequence(x, torch.as_tensor(lengths, dtype=torch.int64).cpu(), enforce_sorted=False)
    output, final = functional_call(module, params, (sequence, states))
    if lengths is not None:
        output, _ = pad_packed_sequence(output, total_length=steps)
    return output, final


def _states(h0, c0, like: torch.Tensor, shape):
    """None stands for zeros, as in PyTorch (one of the two may be given alone)."""
    zeros = torch.zeros(shape, dtype=like.dtype, device=like.device)
    return (zeros if h0 is None else h0), (zeros if c0 is None else c0)


def rnn(x, h0, params, num_layers=1, nonlinearity="tanh", bidirectional=False, lengths=None):
    """``torch.nn.RNN`` (batch_first=False): returns ``(output, h_n)``."""
    return _run_module(torch.nn.RNN, x, h0, params, num_layers, bidirectional, lengths, nonlinearity=nonlinearity)


def lstm(x, h0, c0, params, num_layers=1, bidirectional=False, lengths=None):
    """``torch.nn.LSTM`` (batch_first=False): returns ``(output, h_n, c_n)``."""
    shape = (num_layers * (2 if bidirectional else 1), x.shape[1], params["weight_hh_l0"].shape[1])
    states = None if h0 is None and c0 is None else _states(h0, c0, x, shape)
    output, (h_n, c_n) = _run_module(torch.nn.LSTM, x, states, params, num_layers, bidirectional, lengths)
    return output, h_n, c_n


def gru(x, h0, params, num_layers=1, bidirectional=False, lengths=None):
    """``torch.nn.GRU`` (batch_first=False): returns ``(output, h_n)``."""
    return _run_module(torch.nn.GRU, x, h0, params, num_layers, bidirectional, lengths)


# ------------------------------------------------------------------ style transfer


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """The Gram matrix of each sample's feature maps, normalised by C * H * W (Gatys et al.)."""
    batch, channels, height, width = features.shape
    flat = features.reshape(batch, channels, height * width)
    return torch.bmm(flat, flat.transpose(1, 2)) / (channels * height * width)


def total_variation(img: torch.Tensor) -> torch.Tensor:
    return (img[..., 1:, :] - img[..., :-1, :]).abs().sum() + (img[..., :, 1:] - img[..., :, :-1]).abs().sum()
