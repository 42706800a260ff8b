"""The seams of the reference: the internal pieces a variant of a layer may build on.

A variant of a layer (one of the suite's known bugs in ``tests/known_bugs/``, or a learner
swapping one step of the reference for their own) needs more than the public API of
``reference``: the helpers a layer is written with, the fields of its cache, a cell's
step, a residual block's pieces. This module gives exactly those pieces public names and
keeps them stable. Renaming one of them, or changing what it takes, returns or means, is a
change to this module and to its users; everything else inside ``reference`` (its
submodules, their private functions) may change freely, and no variant reaches past this
module.

The caches re-exported here are documented by it: their fields (and NamedTuple's own
``_replace``) are part of the seam. The ``*_swapped`` context managers and
``residual_blocks_with`` run the reference with one piece replaced for the duration of a
call only: importing a variant never changes the reference.

``from reference import *`` does not bring this module; import it as
``from reference import seams`` or ``from reference.seams import ...``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType

from . import _windows, activations, attention, conv, dense, losses, norm, pool, residual, rnn, rnn_cells, style, transformer

__all__ = [
    "ActivationCache",
    "AttentionCache",
    "EncoderCache",
    "MultiHeadCache",
    "additive_mask",
    "attention_heads_swapped",
    "gelu_swapped",
    "masked_softmax",
    "softmax_backward_rows",
    "sum_to_shape",
    "AdaptiveAvgPool2dCache",
    "AvgPool2dCache",
    "Conv2dCache",
    "CrossEntropyCache",
    "DropoutCache",
    "EmbeddingCache",
    "GRUCell",
    "GramCache",
    "LSTMCell",
    "Layout",
    "MaxPool2dCache",
    "PoolGeometry",
    "RNNCell",
    "SequenceCache",
    "StepGrads",
    "StepResult",
    "TotalVariationCache",
    "Unit",
    "UnitCache",
    "bottleneck_layout",
    "cell_forward",
    "cell_kind",
    "channel_axes",
    "conv_bn_backward",
    "conv_bn_forward",
    "correlate",
    "input_grad",
    "pad_channels_last",
    "pad_spatial",
    "pool_windows",
    "residual_blocks_with",
    "run_direction",
    "run_direction_swapped",
    "scatter_windows",
    "sequence_forward",
    "shortcut_backward",
    "shortcut_forward",
    "standardise_swapped",
]


@contextmanager
def _swapped(module: ModuleType, replacements: dict[str, Callable]) -> Iterator[None]:
    """``module``'s attributes (private names) replaced inside the ``with`` block only."""
    originals = {name: getattr(module, name) for name in replacements}  # AttributeError for a name it lacks
    for name, replacement in replacements.items():
        setattr(module, name, replacement)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(module, name, original)


# Activations: the cache (relu: where the input was positive, a bool mask; the others: the output; softmax's dim).
ActivationCache = activations.ActivationCache

# Convolution: the cache (the input padded, channels last) and the correlation at the core of all three passes.
Conv2dCache = conv.Conv2dCache
pad_channels_last = conv.pad_channels_last  # (x, (top, bottom, left, right)) -> zero-padded (N, Hp, Wp, C)
correlate = conv.correlate  # (x_padded channels last, weight, stride, dilation, groups) -> (N, C_out, H_out, W_out)
input_grad = conv.input_grad  # (dout, weight, stride, dilation, groups, padding, input_hw) -> dx of the unpadded input

# Dense layers: the caches of dropout and embedding.
DropoutCache = dense.DropoutCache
EmbeddingCache = dense.EmbeddingCache

# Losses: cross entropy's cache.
CrossEntropyCache = losses.CrossEntropyCache

# Normalisation: batch norm's reduction axes, and the standardisation step swapped.
channel_axes = norm._channel_axes  # ndim -> every axis but the channel axis 1


@contextmanager
def standardise_swapped(standardise: Callable) -> Iterator[None]:
    """Inside the ``with`` block, ``batch_norm_forward``, ``layer_norm_forward`` and ``group_norm_forward`` standardise
    with ``standardise(x, axes, count, eps) -> (xhat, inv_std, mean, var)`` (``x`` in the
    input's dtype for batch norm, float64 for layer and group norm; the statistics keeping
    their dims) instead of the reference's biased-variance step."""
    with _swapped(norm, {"_standardise": standardise}):
        yield


# Pooling: where the windows lie, the strided view of them, and its adjoint.
PoolGeometry = pool.PoolGeometry
MaxPool2dCache = pool.MaxPool2dCache
AvgPool2dCache = pool.AvgPool2dCache
AdaptiveAvgPool2dCache = pool.AdaptiveAvgPool2dCache
pad_spatial = _windows.pad_spatial  # (x, (top, bottom, left, right), value=0.0) -> a new array padded on the last two axes
pool_windows = pool._windows  # (x_padded, geometry) -> read-only view (N, C, H_out, W_out, kernel_h, kernel_w)
scatter_windows = _windows.scatter_windows  # (window_grads, padded_hw, stride, dilation) -> their sum on the padded input

# Residual blocks: units and layouts, the pieces a block is built from, and a block with pieces swapped.
Unit = residual.Unit
Layout = residual.Layout
UnitCache = residual.UnitCache
bottleneck_layout = residual.bottleneck_layout  # (stride, projects) -> Layout: torchvision's, the stride on conv2
conv_bn_forward = residual._conv_bn_forward  # (x, params, unit, training) -> (out, conv cache, bn cache)
conv_bn_backward = residual._conv_bn_backward  # (dout, UnitCache, unit, dparams) -> dx; the unit's grads go into dparams
shortcut_forward = residual._shortcut_forward  # (x, params, unit or None, training) -> (shortcut, UnitCache or None)
shortcut_backward = residual._shortcut_backward  # (dout, cache, unit or None, dparams) -> dx

_RESIDUAL_KINDS = residual.BLOCKS
# The pieces residual_blocks_with swaps: their seam names, and their names inside reference.residual.
_RESIDUAL_PIECES = {
    "shortcut_forward": "_shortcut_forward",
    "shortcut_backward": "_shortcut_backward",
    "merge_forward": "_merge_forward",
    "merge_backward": "_merge_backward",
    "bottleneck_layout": "bottleneck_layout",
    "batch_norm_forward": "batch_norm_forward",
}


def residual_blocks_with(kind: str, **pieces: Callable) -> tuple[Callable, Callable]:
    """``(NAME_forward, NAME_backward)`` of block ``kind`` ('basic_block' or 'bottleneck'),
    running the reference with ``pieces`` replaced, for the duration of each call only.

    The pieces, by keyword:

    * ``shortcut_forward(x, params, unit, training) -> (shortcut, cache)`` and
      ``shortcut_backward(dout, cache, unit, dparams) -> dx``: the shortcut branch (``unit``
      None for the identity); the originals are ``shortcut_forward``/``shortcut_backward`` here.
    * ``merge_forward(main, shortcut) -> (out, cache)`` and
      ``merge_backward(dout, cache) -> (dmain, dshortcut)``: the sum and the ReLU after it.
    * ``bottleneck_layout(stride, projects) -> Layout``: the Bottleneck's units; the original
      is ``bottleneck_layout`` here.
    * ``batch_norm_forward``: the batch norm every unit calls, with the public signature.
    """
    if kind not in _RESIDUAL_KINDS:
        raise ValueError(f"residual_blocks_with: kind must be one of {_RESIDUAL_KINDS}; got {kind!r}")
    unknown = sorted(set(pieces) - set(_RESIDUAL_PIECES))
    if unknown:
        raise TypeError(f"residual_blocks_with: unknown pieces {unknown}; the pieces are {sorted(_RESIDUAL_PIECES)}")
    replacements = {_RESIDUAL_PIECES[name]: piece for name, piece in pieces.items()}
    forward, backward = getattr(residual, f"{kind}_forward"), getattr(residual, f"{kind}_backward")

    def block_forward(*args, **kwargs):
        with _swapped(residual, replacements):
            return forward(*args, **kwargs)

    def block_backward(*args, **kwargs):
        with _swapped(residual, replacements):
            return backward(*args, **kwargs)

    block_forward.__name__, block_backward.__name__ = f"{kind}_forward", f"{kind}_backward"
    return block_forward, block_backward


# Recurrent cells: a cell is a step on the two projections; cell_forward runs any cell as the public cell functions do.
StepResult = rnn_cells.StepResult
StepGrads = rnn_cells.StepGrads
RNNCell = rnn_cells.RNNCell
LSTMCell = rnn_cells.LSTMCell
GRUCell = rnn_cells.GRUCell
cell_kind = rnn_cells.cell_kind  # (function, "rnn" | "lstm" | "gru", nonlinearity) -> the cell; checks the nonlinearity
cell_forward = rnn_cells._cell_forward  # (function, cell, x, h, c, weight_ih, weight_hh, bias_ih, bias_hh) -> (StepResult, cache)

# Recurrent sequences: whole layers run with any cell, one direction of one layer at a time.
SequenceCache = rnn.SequenceCache
# (function, cell, x, h0, c0, params, num_layers, bidirectional, lengths) -> (output, h_n, c_n or None, cache)
sequence_forward = rnn._sequence_forward
# (cell, inputs, h, c, weights, valid, reverse) -> (outputs, h_last, c_last, direction cache)
run_direction = rnn._run_direction


@contextmanager
def run_direction_swapped(replacement: Callable) -> Iterator[None]:
    """Inside the ``with`` block, ``rnn_forward``, ``lstm_forward`` and ``gru_forward`` run each
    direction of each layer with ``replacement``, which takes and returns what
    ``run_direction`` does (and may call it)."""
    with _swapped(rnn, {"_run_direction": replacement}):
        yield


# Style: the caches of the Gram matrix and total variation.
GramCache = style.GramCache
TotalVariationCache = style.TotalVariationCache

# Attention: the caches, the masks as additive scores, the softmax over the keys (rows with
# every key masked give zeros, as PyTorch), and the heads' split and merge swapped.
AttentionCache = attention.AttentionCache
MultiHeadCache = attention.MultiHeadCache
additive_mask = attention.additive_mask  # (function, name, mask, *, true_means: "allowed" | "masked") -> float64 scores to add
masked_softmax = attention.masked_softmax  # scores -> (weights, rows with every key masked)
softmax_backward_rows = attention.softmax_backward_rows  # (dweights, weights) -> dscores, row by row
sum_to_shape = attention.sum_to_shape  # (grad, shape) -> grad summed over the axes broadcasting added


@contextmanager
def attention_heads_swapped(split: Callable, merge: Callable) -> Iterator[None]:
    """Inside the ``with`` block, multi-head attention (and the encoder layer) split the
    projected (L, N, E) into heads with ``split(x, num_heads) -> (N, H, L, E / H)`` and merge
    them back with ``merge(x) -> (L, N, E)``, in forward and backward alike."""
    with _swapped(attention, {"split_heads": split, "merge_heads": merge}):
        yield


# The encoder layer: its cache, and its GELU (the exact x Phi(x)) swapped with its derivative.
EncoderCache = transformer.EncoderCache


@contextmanager
def gelu_swapped(gelu: Callable, derivative: Callable) -> Iterator[None]:
    """Inside the ``with`` block, the encoder layer's ``activation='gelu'`` is ``gelu(x)``
    with the derivative ``derivative(x)``."""
    with _swapped(transformer, {"gelu": gelu, "gelu_derivative": derivative}):
        yield
