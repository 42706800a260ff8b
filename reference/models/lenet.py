"""LeNet-5 in NumPy, layer for layer the twin ``torch_impl.models.LeNet5``."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ._engine import Model, uniform_init
from ._steps import Activation, Conv2d, Flatten, Linear, Pool2d


def check_lenet_options(activation: str, pooling: str, input_size: int) -> None:
    """The options LeNet-5 takes, in NumPy and in PyTorch alike."""
    if activation not in ("tanh", "relu"):
        raise ValueError(f"LeNet5: argument 'activation' must be 'tanh' or 'relu'; got {activation!r}")
    if pooling not in ("avg", "max"):
        raise ValueError(f"LeNet5: argument 'pooling' must be 'avg' or 'max'; got {pooling!r}")
    if input_size not in (32, 28):
        raise ValueError(f"LeNet5: argument 'input_size' must be 32 or 28 (MNIST); got {input_size!r}")


class LeNet5(Model):
    """conv 6@5x5, pool, conv 16@5x5, pool, 120, 84, classes (tanh and average pooling by
    default; ``activation='relu'``, ``pooling='max'``; ``input_size=28`` pads the first
    convolution by 2, for MNIST). ``impl`` is the implementation whose layer functions
    run the model (default: the reference)."""

    def __init__(self, num_classes: int = 10, activation: str = "tanh", pooling: str = "avg", input_size: int = 32, in_channels: int = 1,
                 *, impl: ModuleType | None = None, seed: int = 0) -> None:
        check_lenet_options(activation, pooling, input_size)
        pool = f"{pooling}_pool2d"
        steps = [
            Conv2d("features.0", padding=2 if input_size == 28 else 0),
            Activation("features.1", activation),
            Pool2d("features.2", pool, 2, 2),
            Conv2d("features.3"),
            Activation("features.4", activation),
            Pool2d("features.5", pool, 2, 2),
            Flatten("classifier.0"),
            Linear("classifier.1"),
            Activation("classifier.2", activation),
            Linear("classifier.3"),
            Activation("classifier.4", activation),
            Linear("classifier.5"),
        ]
        rng = np.random.default_rng(seed)
        shapes = {
            "features.0": ((6, in_channels, 5, 5), in_channels * 25),
            "features.3": ((16, 6, 5, 5), 6 * 25),
            "classifier.1": ((120, 400), 400),
            "classifier.3": ((84, 120), 120),
            "classifier.5": ((num_classes, 84), 84),
        }
        params = {}
        for name, (shape, fan_in) in shapes.items():
            params[f"{name}.weight"] = uniform_init(rng, shape, fan_in)
            params[f"{name}.bias"] = uniform_init(rng, shape[:1], fan_in)
        super().__init__(steps, params, impl)
