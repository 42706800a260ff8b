"""gradparity's reference implementation: deep-learning layers from scratch in NumPy.

Every layer is a pair ``NAME_forward(...) -> (out, cache)`` and
``NAME_backward(dout, cache) -> gradients`` following the SPEC (see docs/API.md).
This package never imports torch: it is the worked solution learners read, and it runs
where PyTorch is absent.
"""

from .conv import conv2d_backward, conv2d_forward
from .gradcheck import check_layer_gradients, numerical_gradient
from .pool import (
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)

__all__ = [
    "adaptive_avg_pool2d_backward",
    "adaptive_avg_pool2d_forward",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "check_layer_gradients",
    "conv2d_backward",
    "conv2d_forward",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "numerical_gradient",
]
