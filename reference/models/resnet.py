"""ResNets in NumPy, key for key the twin ``torch_impl.models.ResNet`` (torchvision's layout)."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ..residual import BLOCKS, block_layout
from ._engine import Model, batch_norm_state, uniform_init
from ._steps import Activation, BatchNorm2d, Conv2d, Flatten, Linear, Pool2d, ResidualBlock


class ResNet(Model):
    """Stages of ``block`` ('basic_block' or 'bottleneck'), ``layers`` blocks each, widths
    ``width * (1, 2, 4, 8)``; ``stem='cifar'`` (3x3 conv) or ``'imagenet'`` (7x7 stride-2
    conv and 3x3 max-pool). The blocks are the implementation's ``basic_block``/``bottleneck``."""

    def __init__(self, block: str, layers: list[int], num_classes: int = 10, width: int = 64, stem: str = "cifar", in_channels: int = 3,
                 *, impl: ModuleType | None = None, seed: int = 0) -> None:
        if block not in BLOCKS:
            raise ValueError(f"ResNet: argument 'block' must be 'basic_block' or 'bottleneck'; got {block!r}")
        if stem not in ("cifar", "imagenet"):
            raise ValueError(f"ResNet: argument 'stem' must be 'cifar' or 'imagenet'; got {stem!r}")
        rng = np.random.default_rng(seed)
        kernel = 3 if stem == "cifar" else 7
        params = {"conv1.weight": uniform_init(rng, (width, in_channels, kernel, kernel), in_channels * kernel * kernel)}
        params |= batch_norm_state("bn1", width)
        steps = [
            Conv2d("conv1", stride=1 if stem == "cifar" else 2, padding=kernel // 2, bias=False),
            BatchNorm2d("bn1"),
            Activation("relu", "relu"),
        ]
        if stem == "imagenet":
            steps.append(Pool2d("maxpool", "max_pool2d", 3, 2, 1))
        in_planes = width
        for stage, (blocks, planes) in enumerate(zip(layers, [width, 2 * width, 4 * width, 8 * width])):
            for index in range(blocks):
                stride = 2 if stage > 0 and index == 0 else 1
                name = f"layer{stage + 1}.{index}"
                steps.append(ResidualBlock(name, block, stride))
                params |= _block_params(rng, name, block, in_planes, planes, stride)
                in_planes = planes * block_layout(block, 1, False).expansion
        steps += [Pool2d("avgpool", "adaptive_avg_pool2d", (1, 1)), Flatten("flatten"), Linear("fc")]
        params["fc.weight"] = uniform_init(rng, (num_classes, in_planes), in_planes)
        params["fc.bias"] = uniform_init(rng, (num_classes,), in_planes)
        super().__init__(steps, params, impl)

    def summary(self, input_shape, dtype=np.float64):
        # torch.flatten is a function in the twin, not a module: no row for it.
        return [row for row in super().summary(input_shape, dtype) if row.kind != "Flatten"]


def _conv(rng, name: str, out_channels: int, in_channels: int, kernel: int) -> dict:
    return {f"{name}.weight": uniform_init(rng, (out_channels, in_channels, kernel, kernel), in_channels * kernel * kernel)}


def _block_params(rng, name: str, block: str, in_planes: int, planes: int, stride: int) -> dict:
    """The block's state_dict, unit by unit of its layout: each unit outputs ``planes``
    channels but the last, ``planes * expansion``; the shortcut projects to the same."""
    expansion = block_layout(block, stride, False).expansion
    layout = block_layout(block, stride, projects=stride != 1 or in_planes != planes * expansion)
    params: dict = {}
    channels = in_planes
    for index, unit in enumerate(layout.main):
        width = planes * layout.expansion if index == len(layout.main) - 1 else planes
        params |= _conv(rng, f"{name}.{unit.conv}", width, channels, unit.kernel) | batch_norm_state(f"{name}.{unit.bn}", width)
        channels = width
    if layout.shortcut is not None:
        unit = layout.shortcut
        params |= _conv(rng, f"{name}.{unit.conv}", channels, in_planes, unit.kernel) | batch_norm_state(f"{name}.{unit.bn}", channels)
    return params


def resnet18(num_classes: int = 10, width: int = 64, **options) -> ResNet:
    return ResNet("basic_block", [2, 2, 2, 2], num_classes, width, "cifar", **options)


def resnet34(num_classes: int = 10, width: int = 64, **options) -> ResNet:
    return ResNet("basic_block", [3, 4, 6, 3], num_classes, width, "cifar", **options)


def resnet50(num_classes: int = 1000, width: int = 64, **options) -> ResNet:
    return ResNet("bottleneck", [3, 4, 6, 3], num_classes, width, "imagenet", **options)
