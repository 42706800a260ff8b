"""PyTorch twins of the reference residual blocks: the modules, and functional twins that
run a module with a given ``params`` dict (a ``state_dict``)."""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call


def _conv(in_channels: int, out_channels: int, kernel: int, stride: int = 1, **factory) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, bias=False, **factory)


class BasicBlock(nn.Module):
    """The ResNet BasicBlock (two 3x3 convolutions, as in ResNet-18/34 and the CIFAR ResNets):
    ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``. ``shortcut`` is a 1x1 convolution
    with the stride and a batch norm when the block projects (stride != 1 or
    in_planes != planes), an empty ``nn.Sequential`` (the identity) otherwise."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1, *, device=None, dtype=None) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.conv1 = _conv(in_planes, planes, 3, stride, **factory)
        self.bn1 = nn.BatchNorm2d(planes, **factory)
        self.conv2 = _conv(planes, planes, 3, **factory)
        self.bn2 = nn.BatchNorm2d(planes, **factory)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes * self.expansion:
            self.shortcut = nn.Sequential(_conv(in_planes, planes * self.expansion, 1, stride, **factory), nn.BatchNorm2d(planes * self.expansion, **factory))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """torchvision's Bottleneck ("ResNet v1.5": the stride on the 3x3 convolution):
    1x1 (planes), 3x3 (planes, stride), 1x1 (planes * 4), each followed by batch norm, ReLUs
    between, then ``relu(main + identity)`` with ``downsample`` (1x1 convolution with the
    stride and batch norm) when it projects (stride != 1 or inplanes != planes * 4), else None."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, *, device=None, dtype=None) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        width = planes * self.expansion
        self.conv1 = _conv(inplanes, planes, 1, **factory)
        self.bn1 = nn.BatchNorm2d(planes, **factory)
        self.conv2 = _conv(planes, planes, 3, stride, **factory)
        self.bn2 = nn.BatchNorm2d(planes, **factory)
        self.conv3 = _conv(planes, width, 1, **factory)
        self.bn3 = nn.BatchNorm2d(width, **factory)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Sequential | None = None
        if stride != 1 or inplanes != width:
            self.downsample = nn.Sequential(_conv(inplanes, width, 1, stride, **factory), nn.BatchNorm2d(width, **factory))
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # torchvision's order, so that torchinfo lists the layers as it does for torchvision.
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        out += identity
        return self.relu(out)


def _run_block(module: nn.Module, x: torch.Tensor, params: dict[str, torch.Tensor], training: bool) -> torch.Tensor:
    """``module(x)`` with ``params`` in place of its parameters and buffers
    (``functional_call``): gradients reach the given tensors, and in training batch norm
    updates the given running statistics in place.

    The ``num_batches_tracked`` counters are the one exception: the SPEC leaves them out
    (with momentum 0.1 they change nothing), the reference ignores them, so the twin runs
    with a private counter and leaves the caller's as it was. An absent counter is the
    module's own."""
    module.train(training)
    state = dict(params)
    for name, buffer in module.named_buffers():
        if not buffer.is_floating_point():  # num_batches_tracked: batch norm's one integer buffer
            state[name] = params[name].clone() if name in params else buffer
    return functional_call(module, state, (x,), strict=True)


def basic_block(x: torch.Tensor, params: dict[str, torch.Tensor], stride: int = 1, training: bool = True) -> torch.Tensor:
    """``BasicBlock`` with the given ``params`` (its state_dict: the shapes say the channels)."""
    planes, in_planes = params["conv1.weight"].shape[:2]
    module = BasicBlock(in_planes, planes, stride, device=x.device, dtype=x.dtype)
    return _run_block(module, x, params, training)


def bottleneck(x: torch.Tensor, params: dict[str, torch.Tensor], stride: int = 1, training: bool = True) -> torch.Tensor:
    """torchvision's ``Bottleneck`` with the given ``params`` (its state_dict)."""
    planes, inplanes = params["conv1.weight"].shape[:2]
    module = Bottleneck(inplanes, planes, stride, device=x.device, dtype=x.dtype)
    return _run_block(module, x, params, training)
