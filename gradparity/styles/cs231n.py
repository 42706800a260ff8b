"""Stanford's CS231n: the functions of its assignments' ``layers.py``, ``rnn_layers.py`` and
``layer_utils.py``, checked in the course's own conventions (PyTorch's (N, C, H, W) for
images; weights ``w`` of shape (D, M); batch-first sequences ``x`` (N, T, D); LSTM gates in
the order i, f, o, g; hyperparameters in ``conv_param``, ``pool_param``, ``bn_param``,
``dropout_param`` dicts)."""

from __future__ import annotations

from ..registry import BY_NAME
from . import Binding, Style
from .adapting import course_entry, returned

SIGNATURES = {
    # layers.py
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
}


def _conv(module):
    conv_forward, conv_backward = module.conv_forward_naive, module.conv_backward_naive

    def forward(x, weight, bias, stride=1, padding=0):
        out, cache = conv_forward(x, weight, bias, {"stride": stride, "pad": padding})
        return returned("conv_forward_naive", "out", out, ndim=4), (cache, x.shape, weight.shape)

    def backward(dout, cache):
        course_cache, x_shape, weight_shape = cache
        dx, dw, db = conv_backward(dout, course_cache)
        return (
            returned("conv_backward_naive", "dx", dx, shape=x_shape),
            returned("conv_backward_naive", "dw", dw, shape=weight_shape),
            returned("conv_backward_naive", "db", db, shape=weight_shape[:1], hint="db sums dout over the batch and both spatial axes"),
        )

    return forward, backward


def _bindings() -> tuple[Binding, ...]:
    return (
        Binding(
            course_entry(BY_NAME["conv2d"], "conv_naive"),
            "conv_forward_naive",
            "conv_backward_naive",
            _conv,
            left_out={
                "pair arguments": "conv_forward_naive takes one stride and one pad (conv_param) for both axes",
                "string padding": "conv_param['pad'] is a number of pixels",
                "dilation": "conv_forward_naive has no dilation",
                "groups": "conv_forward_naive has no groups",
                "bias=None": "conv_forward_naive always adds b",
            },
            conventions=("conv_forward_naive/conv_backward_naive: stride and pad from conv_param",),
        ),
    )


STYLE = Style("cs231n", "CS231n", SIGNATURES, _bindings)
