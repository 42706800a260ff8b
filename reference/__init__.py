"""gradparity's reference implementation: deep-learning layers from scratch in NumPy.

Every layer is a pair ``NAME_forward(...) -> (out, cache)`` and
``NAME_backward(dout, cache) -> gradients`` following the SPEC (see docs/API.md).
This package never imports torch: it is the worked solution learners read, and it runs
where PyTorch is absent.
"""

from .activations import (
    log_softmax_backward,
    log_softmax_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_backward,
    softmax_forward,
    tanh_backward,
    tanh_forward,
)
from .attention import (
    multi_head_attention_backward,
    multi_head_attention_forward,
    scaled_dot_product_attention_backward,
    scaled_dot_product_attention_forward,
)
from .conv import conv2d_backward, conv2d_forward
from .dense import dropout_backward, dropout_forward, embedding_backward, embedding_forward, linear_backward, linear_forward
from .gradcheck import check_layer_gradients, numerical_gradient
from .losses import (
    binary_cross_entropy_with_logits_backward,
    binary_cross_entropy_with_logits_forward,
    cross_entropy_backward,
    cross_entropy_forward,
    mse_loss_backward,
    mse_loss_forward,
    nll_loss_backward,
    nll_loss_forward,
)
from .norm import (
    BATCH_COUNTER,
    BATCH_NORM_BUFFERS,
    BATCH_NORM_STATISTICS,
    batch_norm_backward,
    batch_norm_forward,
    group_norm_backward,
    group_norm_forward,
    layer_norm_backward,
    layer_norm_forward,
)
from .optim import adam_step, adamw_step, rmsprop_step, sgd_step
from .pool import (
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from .residual import basic_block_backward, basic_block_forward, bottleneck_backward, bottleneck_forward
from .rnn import gru_backward, gru_forward, lstm_backward, lstm_forward, rnn_backward, rnn_forward
from .rnn_cells import (
    gru_cell_backward,
    gru_cell_forward,
    lstm_cell_backward,
    lstm_cell_forward,
    rnn_cell_backward,
    rnn_cell_forward,
)
from .style import gram_matrix_backward, gram_matrix_forward, total_variation_backward, total_variation_forward
from .transformer import transformer_encoder_layer_backward, transformer_encoder_layer_forward

__all__ = [
    "adam_step",
    "adamw_step",
    "rmsprop_step",
    "sgd_step",
    "BATCH_COUNTER",
    "BATCH_NORM_BUFFERS",
    "BATCH_NORM_STATISTICS",
    "adaptive_avg_pool2d_backward",
    "adaptive_avg_pool2d_forward",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "basic_block_backward",
    "basic_block_forward",
    "batch_norm_backward",
    "batch_norm_forward",
    "binary_cross_entropy_with_logits_backward",
    "binary_cross_entropy_with_logits_forward",
    "bottleneck_backward",
    "bottleneck_forward",
    "check_layer_gradients",
    "conv2d_backward",
    "conv2d_forward",
    "cross_entropy_backward",
    "cross_entropy_forward",
    "dropout_backward",
    "dropout_forward",
    "embedding_backward",
    "embedding_forward",
    "gram_matrix_backward",
    "gram_matrix_forward",
    "group_norm_backward",
    "group_norm_forward",
    "gru_backward",
    "gru_cell_backward",
    "gru_cell_forward",
    "gru_forward",
    "layer_norm_backward",
    "layer_norm_forward",
    "linear_backward",
    "linear_forward",
    "log_softmax_backward",
    "log_softmax_forward",
    "lstm_backward",
    "lstm_cell_backward",
    "lstm_cell_forward",
    "lstm_forward",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "mse_loss_backward",
    "mse_loss_forward",
    "multi_head_attention_backward",
    "multi_head_attention_forward",
    "nll_loss_backward",
    "nll_loss_forward",
    "numerical_gradient",
    "relu_backward",
    "relu_forward",
    "rnn_backward",
    "rnn_cell_backward",
    "rnn_cell_forward",
    "rnn_forward",
    "scaled_dot_product_attention_backward",
    "scaled_dot_product_attention_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "softmax_backward",
    "softmax_forward",
    "tanh_backward",
    "tanh_forward",
    "total_variation_backward",
    "total_variation_forward",
    "transformer_encoder_layer_backward",
    "transformer_encoder_layer_forward",
]
