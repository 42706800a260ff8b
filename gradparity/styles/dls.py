"""The Deep Learning Specialization (deeplearning.ai on Coursera): its assignments' functions,
checked in the course's own conventions.

- Course 1, week 4: features first, ``A`` of shape (n, m), ``W`` (n_l, n_{l-1}), ``b`` (n_l, 1).
- Course 4, week 1: channels last, ``A_prev`` (m, n_H, n_W, n_C), ``W`` (f, f, n_C_prev, n_C),
  ``b`` (1, 1, 1, n_C), ``hparameters`` with ``stride``, ``pad`` and ``f``.
- Course 5, week 1: features first, ``x`` (n_x, m, T_x), ``[a_prev; xt]``, one bias per gate.
"""

from __future__ import annotations

from ..registry import BY_NAME
from . import Binding, Style
from .adapting import course_entry, returned

SIGNATURES = {
    # Course 1, week 4: a deep network, step by step.
    "initialize_parameters_deep": ("layer_dims",),
    "linear_forward": ("A", "W", "b"),
    "linear_activation_forward": ("A_prev", "W", "b", "activation"),
    "L_model_forward": ("X", "parameters"),
    "compute_cost": ("AL", "Y"),
    "linear_backward": ("dZ", "cache"),
    "linear_activation_backward": ("dA", "cache", "activation"),
    "L_model_backward": ("AL", "Y", "caches"),
    "update_parameters": ("params", "grads", "learning_rate"),
    # Course 4, week 1: a convolutional network, step by step.
    "zero_pad": ("X", "pad"),
    "conv_single_step": ("a_slice_prev", "W", "b"),
    "conv_forward": ("A_prev", "W", "b", "hparameters"),
    "pool_forward": ("A_prev", "hparameters"),
    "conv_backward": ("dZ", "cache"),
    "create_mask_from_window": ("x",),
    "distribute_value": ("dz", "shape"),
    "pool_backward": ("dA", "cache"),
    # Course 5, week 1: a recurrent network, step by step.
    "rnn_cell_forward": ("xt", "a_prev", "parameters"),
    "rnn_forward": ("x", "a0", "parameters"),
    "lstm_cell_forward": ("xt", "a_prev", "c_prev", "parameters"),
    "lstm_forward": ("x", "a0", "parameters"),
    "rnn_cell_backward": ("da_next", "cache"),
    "rnn_backward": ("da", "caches"),
    "lstm_cell_backward": ("da_next", "dc_next", "cache"),
    "lstm_backward": ("da", "caches"),
}


def _square_kernels(sample):
    """The course's kernels are f x f: the drawn kernel cropped to its smaller side (the
    input still holds a window)."""
    weight = sample.arrays["weight"]
    side = min(weight.shape[2:])
    return sample.changed({"weight": weight[:, :, :side, :side].copy()})


def _conv(module):
    conv_forward, conv_backward = module.conv_forward, module.conv_backward

    def forward(x, weight, bias, stride=1, padding=0):
        hparameters = {"stride": stride, "pad": padding, "f": weight.shape[2]}
        Z, cache = conv_forward(x.transpose(0, 2, 3, 1), weight.transpose(2, 3, 1, 0), bias.reshape(1, 1, 1, -1), hparameters)
        return returned("conv_forward", "Z", Z, ndim=4).transpose(0, 3, 1, 2), (cache, x.shape, weight.shape)

    def backward(dout, cache):
        course_cache, (batch, channels, height, width), (filters, _, side, _) = cache
        dA_prev, dW, db = conv_backward(dout.transpose(0, 2, 3, 1), course_cache)
        dA_prev = returned("conv_backward", "dA_prev", dA_prev, ndim=4)
        dW = returned("conv_backward", "dW", dW, shape=(side, side, channels, filters))
        db = returned("conv_backward", "db", db, shape=(1, 1, 1, filters), hint="db sums dZ over the batch and both spatial axes")
        return dA_prev.transpose(0, 3, 1, 2), dW.transpose(3, 2, 0, 1), db.reshape(filters)

    return forward, backward


def _bindings() -> tuple[Binding, ...]:
    conv = BY_NAME["conv2d"]
    return (
        Binding(
            course_entry(conv, "conv", change=_square_kernels),
            "conv_forward",
            "conv_backward",
            _conv,
            left_out={
                "pair arguments": "conv_forward takes one stride and one pad (hparameters) for both axes",
                "string padding": "conv_forward's pad is a number of pixels",
                "dilation": "conv_forward has no dilation",
                "groups": "conv_forward has no groups",
                "bias=None": "conv_forward always adds b, of shape (1, 1, 1, n_C)",
            },
            conventions=(
                "conv_forward/conv_backward: channels last (m, n_H, n_W, n_C), W (f, f, n_C_prev, n_C) and b (1, 1, 1, n_C), "
                "converted from and to PyTorch's (N, C, H, W), (C_out, C_in, kH, kW) and (C_out,); square f x f kernels",
            ),
        ),
    )


STYLE = Style("dls", "the Deep Learning Specialization", SIGNATURES, _bindings, helpers=())

