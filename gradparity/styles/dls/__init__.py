"""The Deep Learning Specialization (deeplearning.ai on Coursera): its assignments' functions,
checked in the course's own conventions.

- Course 1, week 4 (``dnn``): features first, ``A`` of shape (n, m), ``W`` (n_l, n_{l-1}), ``b`` (n_l, 1).
- Course 2, week 2 (``optim``): gradient descent, momentum and Adam over the ``parameters`` dict.
- Course 4, week 1 (``conv``): channels last, ``A_prev`` (m, n_H, n_W, n_C), ``W`` (f, f, n_C_prev, n_C),
  ``b`` (1, 1, 1, n_C), ``hparameters`` with ``stride``, ``pad`` and ``f``.
- Course 5, week 1 (``rnn``): features first, ``x`` (n_x, m, T_x), ``[a_prev; xt]``, one bias per gate.
- Course 5, week 4 (``transformer``): ``scaled_dot_product_attention(q, k, v, mask)``, the mask 1 = keep.

Two kinds of bindings. The layers the API has (``linear``, ``conv2d``, the poolings) are the
API's entries restricted to the course's space (``course_entry``), their calls converted to
and from the course's layout. The others (the activations after a linear step, the cost,
the deep network, the recurrent cells and sequences, the course's helpers) are entries of
their own, written in the course's layout: their twins are PyTorch in that layout, so
their messages name the course's arrays (``dxt``, ``dWax``, ``dbf``) and index them as the
learner does. What the adapters share is in ``common``.
"""

from __future__ import annotations

from .. import Binding, Style

SIGNATURES: dict[str, tuple[str, ...] | list[tuple[str, ...]]] = {
    # Course 1, week 4: a deep network, step by step.
    "initialize_parameters_deep": ("layer_dims",),
    "linear_forward": ("A", "W", "b"),
    "linear_activation_forward": ("A_prev", "W", "b", "activation"),
    "L_model_forward": ("X", "parameters"),
    "compute_cost": ("AL", "Y"),
    "linear_backward": ("dZ", "cache"),
    "linear_activation_backward": ("dA", "cache", "activation"),
    "L_model_backward": ("AL", "Y", "caches"),
    # 2021+ names the dict params; the versions before, parameters.
    "update_parameters": [("params", "grads", "learning_rate"), ("parameters", "grads", "learning_rate")],
    # Course 2, week 2: optimization methods.
    "update_parameters_with_gd": ("parameters", "grads", "learning_rate"),
    "initialize_velocity": ("parameters",),
    "update_parameters_with_momentum": ("parameters", "grads", "v", "beta", "learning_rate"),
    "initialize_adam": ("parameters",),
    "update_parameters_with_adam": ("parameters", "grads", "v", "s", "t"),
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
    # Course 5, week 4: the Transformer's attention.
    "scaled_dot_product_attention": ("q", "k", "v", "mask"),
}


def _bindings() -> tuple[Binding, ...]:
    # Imported here: the assignments' modules import the registry and torch, which detection
    # (reading SIGNATURES) does not need.
    from . import conv, dnn, rnn, transformer

    return (*dnn.bindings(), *conv.bindings(), *rnn.bindings(), *transformer.bindings())


def _optimizer_bindings():
    from . import optim

    return optim.optimizer_bindings()


STYLE = Style("dls", "the Deep Learning Specialization", SIGNATURES, _bindings, _optimizer_bindings)
