"""Stanford's CS231n: the functions of its assignments' ``layers.py``, ``rnn_layers.py`` and
``layer_utils.py``, checked in the course's own conventions (PyTorch's (N, C, H, W) for
images; weights ``w`` of shape (D, M); batch-first sequences ``x`` (N, T, D); LSTM gates in
the order i, f, o, g; hyperparameters in ``conv_param``, ``pool_param``, ``bn_param``,
``ln_param``, ``gn_param``, ``dropout_param`` dicts).

Each binding's entry is written in the course's layout and names (``x, w, b``, ``gamma``,
``Wx``, ``dprev_h``), so that a message says what the learner's code calls things; its
PyTorch twin converts (``w`` is the transpose of ``nn.Linear``'s weight, the LSTM's gate
blocks are reordered, ``b`` is PyTorch's ``b_ih + b_hh``) and follows the course where the
course differs from PyTorch on purpose (batch norm's momentum and biased running
variance, the losses' ``(loss, dx)`` averaged over N). Its draws cover exactly what the
course's function takes, corners included. conv_forward_naive and relu_forward keep the
API's own entries (restricted): their layout is the API's.

The bindings, by area: ``layers`` (affine, relu, the losses, the naive convolution and max
pool), ``norms`` (batch, layer and group norm), ``dropout`` (whose mask the function draws
itself: ``checks/test_course_dropout.py`` checks it), ``recurrent`` (rnn_layers.py) and
``layer_utils`` (the sandwich layers), ``transformer`` (assignment 3's
``MultiHeadAttention`` module), ``optim`` (optim.py's update rules, checked as
optimizers: ``checks/test_trajectory.py``); ``common``: what their adapters share.
"""

from __future__ import annotations

from .. import Binding, Style

SIGNATURES: dict[str, tuple[str, ...] | list[tuple[str, ...]]] = {
    # layers.py (relu_forward(x), relu_backward(dout, cache) and dropout_backward(dout, cache)
    # are the API's own signatures: they tell nothing, and would make the API's reference
    # a CS231n module)
    "affine_forward": ("x", "w", "b"),
    "affine_backward": ("dout", "cache"),
    "softmax_loss": ("x", "y"),
    "svm_loss": ("x", "y"),
    "batchnorm_forward": ("x", "gamma", "beta", "bn_param"),
    "batchnorm_backward": ("dout", "cache"),
    "batchnorm_backward_alt": ("dout", "cache"),
    "layernorm_forward": ("x", "gamma", "beta", "ln_param"),
    "layernorm_backward": ("dout", "cache"),
    "dropout_forward": ("x", "dropout_param"),
    "conv_forward_naive": ("x", "w", "b", "conv_param"),
    "conv_backward_naive": ("dout", "cache"),
    "max_pool_forward_naive": ("x", "pool_param"),
    "max_pool_backward_naive": ("dout", "cache"),
    "spatial_batchnorm_forward": ("x", "gamma", "beta", "bn_param"),
    "spatial_batchnorm_backward": ("dout", "cache"),
    "spatial_groupnorm_forward": ("x", "gamma", "beta", "G", "gn_param"),
    "spatial_groupnorm_backward": ("dout", "cache"),
    # rnn_layers.py
    "rnn_step_forward": ("x", "prev_h", "Wx", "Wh", "b"),
    "rnn_step_backward": ("dnext_h", "cache"),
    "rnn_forward": ("x", "h0", "Wx", "Wh", "b"),
    "rnn_backward": ("dh", "cache"),
    "word_embedding_forward": ("x", "W"),
    "word_embedding_backward": ("dout", "cache"),
    "lstm_step_forward": ("x", "prev_h", "prev_c", "Wx", "Wh", "b"),
    "lstm_step_backward": ("dnext_h", "dnext_c", "cache"),
    "lstm_forward": ("x", "h0", "Wx", "Wh", "b"),
    "lstm_backward": ("dh", "cache"),
    "temporal_affine_forward": ("x", "w", "b"),
    "temporal_affine_backward": ("dout", "cache"),
    "temporal_softmax_loss": ("x", "y", "mask"),
    # transformer_layers.py (a PyTorch module: its __init__'s parameters)
    "MultiHeadAttention": ("embed_dim", "num_heads", "dropout"),
    # optim.py (2016-2017: rmsprop and adam took x, dx)
    "sgd": ("w", "dw", "config"),
    "sgd_momentum": ("w", "dw", "config"),
    "rmsprop": [("w", "dw", "config"), ("x", "dx", "config")],
    "adam": [("w", "dw", "config"), ("x", "dx", "config")],
    # layer_utils.py
    "affine_relu_forward": ("x", "w", "b"),
    "affine_relu_backward": ("dout", "cache"),
    "conv_relu_forward": ("x", "w", "b", "conv_param"),
    "conv_relu_backward": ("dout", "cache"),
    "conv_relu_pool_forward": ("x", "w", "b", "conv_param", "pool_param"),
    "conv_relu_pool_backward": ("dout", "cache"),
}


def _bindings() -> tuple[Binding, ...]:
    # Imported here, when a run checks a CS231n module: the bindings import the registry and
    # torch, and detection needs only SIGNATURES.
    from . import dropout, layer_utils, layers, norms, recurrent, transformer

    # In the summary's row order: layers.py's functions, rnn_layers.py's, layer_utils.py's.
    return (
        *layers.fully_connected_bindings(),
        *norms.bindings(),
        *dropout.bindings(),
        *layers.convolution_bindings(),
        *recurrent.bindings(),
        *layer_utils.bindings(),
        *transformer.bindings(),
    )


def _optimizer_bindings():
    from . import optim

    return optim.optimizer_bindings()


STYLE = Style("cs231n", "CS231n", SIGNATURES, _bindings, _optimizer_bindings)
