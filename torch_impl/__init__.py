"""The PyTorch side of gradparity: twins of the reference layers and the NumPy bridge."""

from .bridge import numpy_op
from .functional import adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "conv2d", "max_pool2d", "numpy_op"]
