"""Residual blocks (ResNet): the BasicBlock and torchvision's Bottleneck, forward and backward.

Both blocks are built from the reference's own layers, one "unit" at a time: a bias-free
convolution followed by batch norm (eps 1e-5, momentum 0.1), with a ReLU between units::

    BasicBlock:  x -> conv1 3x3 (stride) -> bn1 -> relu -> conv2 3x3 -> bn2 ----+-> relu -> out
                 x -> [shortcut.0 1x1 (stride) -> shortcut.1] (or x itself) ----+
    Bottleneck:  x -> conv1 1x1 -> bn1 -> relu -> conv2 3x3 (stride) -> bn2 -> relu
                   -> conv3 1x1 (4 * planes) -> bn3 ---------------------------+-> relu -> out
                 x -> [downsample.0 1x1 (stride) -> downsample.1] (or x) ------+

The shortcut is a projection (a 1x1 convolution with the stride, then batch norm) when the
block changes the resolution or the number of channels, the identity otherwise. The
backward pass runs the units in reverse; the gradient reaching the sum goes both ways, so
``dx`` is the main branch's ``dx`` plus the shortcut's (``dout`` itself for the identity).

``params`` is keyed like the PyTorch module's ``state_dict()``: conv weights, batch-norm
weights, biases and running statistics (and, optionally, the ``num_batches_tracked``
counters, which are accepted and ignored: with a fixed momentum they have no effect). In
training the running statistics inside ``params`` are updated in place, as PyTorch does;
``dparams`` holds the trainable keys only.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import _validation as check
from .activations import ActivationCache, relu_backward
from .conv import Conv2dCache, conv2d_backward, conv2d_forward
from .norm import BATCH_COUNTER as COUNTER
from .norm import BATCH_NORM_STATISTICS as BN_BUFFERS
from .norm import BatchNormCache, batch_norm_backward, batch_norm_forward

MOMENTUM = 0.1
EPS = 1e-5
BN_TRAINABLE = ("weight", "bias")


class Unit(NamedTuple):
    """A bias-free convolution and the batch norm after it, by their ``params`` prefixes."""

    conv: str  # e.g. "conv1": its kernel is params["conv1.weight"]
    bn: str  # e.g. "bn1"
    kernel: int
    stride: int
    padding: int

    def trainable_keys(self) -> tuple[str, ...]:
        return (f"{self.conv}.weight", *(f"{self.bn}.{name}" for name in BN_TRAINABLE))

    def keys(self) -> tuple[str, ...]:
        return (*self.trainable_keys(), *(f"{self.bn}.{name}" for name in BN_BUFFERS))


class Layout(NamedTuple):
    """A block's units: the main branch in order, and the projection shortcut (or None)."""

    name: str  # "basic_block" or "bottleneck", for messages
    module: str  # how PyTorch spells the module, for messages
    main: tuple[Unit, ...]
    shortcut: Unit | None
    expansion: int


class UnitCache(NamedTuple):
    conv: Conv2dCache
    bn: BatchNormCache
    relu: ActivationCache | None  # None for the last unit of the main branch and for the shortcut


class ResidualCache(NamedTuple):
    layout: Layout
    main: list[UnitCache]
    shortcut: Any  # a UnitCache, or None for the identity
    merge: Any  # the cache of the sum and its ReLU
    out_shape: tuple[int, ...]
    dtype: np.dtype


BLOCKS = ("basic_block", "bottleneck")


def block_layout(kind: str, stride: int, projects: bool) -> Layout:
    """The units of block ``kind`` ('basic_block' or 'bottleneck'): the one statement of
    their names (the state_dict's key prefixes), kernels and strides."""
    return (basic_block_layout if kind == "basic_block" else bottleneck_layout)(stride, projects)


def basic_block_layout(stride: int, projects: bool) -> Layout:
    shortcut = Unit("shortcut.0", "shortcut.1", 1, stride, 0) if projects else None
    main = (Unit("conv1", "bn1", 3, stride, 1), Unit("conv2", "bn2", 3, 1, 1))
    return Layout("basic_block", "BasicBlock", main, shortcut, 1)


def bottleneck_layout(stride: int, projects: bool) -> Layout:
    """torchvision's ("ResNet v1.5"): the stride sits on the 3x3 convolution."""
    shortcut = Unit("downsample.0", "downsample.1", 1, stride, 0) if projects else None
    main = (Unit("conv1", "bn1", 1, 1, 0), Unit("conv2", "bn2", 3, stride, 1), Unit("conv3", "bn3", 1, 1, 0))
    return Layout("bottleneck", "Bottleneck", main, shortcut, 4)


# ------------------------------------------------------------------------ the pieces


def _conv_bn_forward(x: np.ndarray, params: dict, unit: Unit, training: bool):
    """``bn(conv(x))``; the running statistics in ``params`` update in place in training."""
    z, conv_cache = conv2d_forward(x, params[f"{unit.conv}.weight"], None, unit.stride, unit.padding)
    weight, bias, running_mean, running_var = (params[f"{unit.bn}.{name}"] for name in (*BN_TRAINABLE, *BN_BUFFERS))
    out, bn_cache = batch_norm_forward(z, weight, bias, running_mean, running_var, training, MOMENTUM, EPS)
    return out, conv_cache, bn_cache


def _conv_bn_backward(dout: np.ndarray, cache: UnitCache, unit: Unit, dparams: dict) -> np.ndarray:
    """``dx`` of one unit; its parameter gradients go into ``dparams``."""
    dz, dparams[f"{unit.bn}.weight"], dparams[f"{unit.bn}.bias"] = batch_norm_backward(dout, cache.bn)
    dx, dparams[f"{unit.conv}.weight"], _ = conv2d_backward(dz, cache.conv)
    return dx


def _shortcut_forward(x: np.ndarray, params: dict, unit: Unit | None, training: bool):
    """``(shortcut, cache)``: the projection, or ``x`` itself."""
    if unit is None:
        return x, None
    out, conv_cache, bn_cache = _conv_bn_forward(x, params, unit, training)
    return out, UnitCache(conv_cache, bn_cache, None)


def _shortcut_backward(dout: np.ndarray, cache: UnitCache | None, unit: Unit | None, dparams: dict) -> np.ndarray:
    if unit is None or cache is None:
        return dout
    return _conv_bn_backward(dout, cache, unit, dparams)


def _relu_owned(h: np.ndarray):
    """``relu_forward`` of an array the block owns (a batch norm's output, the sum), in
    place: one new array fewer per ReLU, same cache."""
    cache = ActivationCache(h > 0)
    np.maximum(h, 0, out=h)
    return h, cache


def _merge_forward(main: np.ndarray, shortcut: np.ndarray):
    """``relu(main + shortcut)``."""
    return _relu_owned(main + shortcut)


def _merge_backward(dout: np.ndarray, cache) -> tuple[np.ndarray, np.ndarray]:
    """``(dmain, dshortcut)``: the sum passes the gradient to both branches unchanged."""
    dsum = relu_backward(dout, cache)
    return dsum, dsum


# ------------------------------------------------------------------------ validation


def _check_params(function: str, layout_of, x: np.ndarray, params, stride: int) -> Layout:
    """Validate ``params`` against the block's layout (inferred from ``conv1.weight`` and
    ``x``) and return the layout."""
    if not isinstance(params, dict):
        raise TypeError(f"{function}: argument 'params' must be a dict keyed like the module's state_dict(); got {type(params).__name__}")
    in_channels = x.shape[1]
    conv1 = params.get("conv1.weight")
    planes = conv1.shape[0] if isinstance(conv1, np.ndarray) and conv1.ndim == 4 else None
    expansion = layout_of(stride, False).expansion
    if planes is None:  # the shapes are checked below; guess the layout from the keys given
        projects = layout_of(stride, True).shortcut.bn + ".weight" in params  # type: ignore[union-attr]
    else:
        projects = stride != 1 or in_channels != planes * expansion
    layout = layout_of(stride, projects)
    units = (*layout.main, *((layout.shortcut,) if layout.shortcut else ()))
    expected = {key for unit in units for key in unit.keys()}
    optional = {f"{unit.bn}.{COUNTER}" for unit in units}
    given = set(params)
    if not expected <= given <= expected | optional:
        missing = sorted(expected - given)
        unexpected = sorted(str(key) for key in given - expected - optional)
        module = f"{layout.module}({in_channels}, {'?' if planes is None else planes}, stride={stride})"
        raise check.invalid(
            function, "params",
            f"must hold exactly the keys of the state_dict() of {module} (its {COUNTER} keys are optional); "
            f"missing {missing}, unexpected {unexpected}",
        )
    # The keys are right: now the arrays. conv1.weight first, since the others' shapes follow from it.
    planes = check.float_array(function, "params['conv1.weight']", params["conv1.weight"], ndim=4).shape[0]
    unit_in = in_channels
    for unit in units:
        unit_in = in_channels if unit is layout.shortcut else unit_in
        out_channels = planes * layout.expansion if unit is layout.main[-1] or unit is layout.shortcut else planes
        shapes: dict[str, tuple[int, ...]] = {f"{unit.conv}.weight": (out_channels, unit_in, unit.kernel, unit.kernel)}
        shapes |= {f"{unit.bn}.{name}": (out_channels,) for name in (*BN_TRAINABLE, *BN_BUFFERS)}
        for key, shape in shapes.items():
            label = f"params['{key}']"
            value = check.float_array(function, label, params[key], ndim=len(shape))
            check.same_dtype(function, label, value, x.dtype)
            check.shape_is(function, label, value, shape)
        unit_in = out_channels
    return layout


def _check_call(function: str, layout_of, x, params, stride, training):
    x = check.float_array(function, "x", x, ndim=4)
    stride = check.positive_int(function, "stride", stride)
    training = check.boolean(function, "training", training)
    conv1 = params.get("conv1.weight") if isinstance(params, dict) else None
    if isinstance(conv1, np.ndarray) and conv1.ndim == 4 and conv1.shape[1] != x.shape[1]:
        raise check.invalid(function, "x", f"must have params['conv1.weight'].shape[1] = {conv1.shape[1]} channels (dim 1); got shape {x.shape}")
    layout = _check_params(function, layout_of, x, params, stride)
    batch, _, height, width = x.shape
    out_hw = ((height - 1) // stride + 1, (width - 1) // stride + 1)
    if training and batch * out_hw[0] * out_hw[1] <= 1:
        raise check.invalid(
            function, "x",
            f"must give batch norm more than 1 value per channel in training: the output is {out_hw[0]}x{out_hw[1]} "
            f"for stride={stride}, with a batch of {batch}; got shape {x.shape}",
        )
    return x, stride, training, layout


# -------------------------------------------------------------------------- the blocks


def _block_forward(x: np.ndarray, params: dict, layout: Layout, training: bool):
    h = x
    main: list[UnitCache] = []
    for i, unit in enumerate(layout.main):
        h, conv_cache, bn_cache = _conv_bn_forward(h, params, unit, training)
        relu_cache = None
        if i < len(layout.main) - 1:
            h, relu_cache = _relu_owned(h)
        main.append(UnitCache(conv_cache, bn_cache, relu_cache))
    shortcut, shortcut_cache = _shortcut_forward(x, params, layout.shortcut, training)
    out, merge_cache = _merge_forward(h, shortcut)
    return out, ResidualCache(layout, main, shortcut_cache, merge_cache, out.shape, x.dtype)


def _block_backward(function: str, dout, cache: ResidualCache):
    dout = check.float_array(function, "dout", dout, ndim=4)
    check.shape_is(function, "dout", dout, cache.out_shape)
    layout = cache.layout
    dmain, dshortcut = _merge_backward(dout, cache.merge)
    grads: dict[str, np.ndarray] = {}
    dh = dmain
    for unit, unit_cache in reversed(list(zip(layout.main, cache.main))):
        if unit_cache.relu is not None:
            dh = relu_backward(dh, unit_cache.relu)
        dh = _conv_bn_backward(dh, unit_cache, unit, grads)
    dx = dh + _shortcut_backward(dshortcut, cache.shortcut, layout.shortcut, grads)
    # In the order of the state_dict.
    units = (*layout.main, *((layout.shortcut,) if layout.shortcut else ()))
    dparams = {key: grads[key] for unit in units for key in unit.trainable_keys()}
    return dx, dparams


def basic_block_forward(x, params, stride=1, training=True):
    """The ResNet BasicBlock: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    ``x`` is (N, C_in, H, W); ``params`` is keyed like ``BasicBlock(C_in, planes, stride)
    .state_dict()`` (``conv1.weight`` (planes, C_in, 3, 3), ``bn1.weight/bias/running_mean/
    running_var``, ``conv2.weight`` (planes, planes, 3, 3), ``bn2.*`` and, when the block
    projects (stride != 1 or C_in != planes), ``shortcut.0.weight`` (planes, C_in, 1, 1) and
    ``shortcut.1.*``). Returns ``(out, cache)``, ``out`` of shape (N, planes, H_out, W_out)
    with ``H_out = (H - 1) // stride + 1``.
    """
    x, stride, training, layout = _check_call("basic_block_forward", basic_block_layout, x, params, stride, training)
    return _block_forward(x, params, layout, training)


def basic_block_backward(dout, cache: ResidualCache):
    """``(dx, dparams)``; ``dparams`` holds the trainable keys of ``params`` (conv weights,
    batch-norm weights and biases), in the state_dict's order."""
    return _block_backward("basic_block_backward", dout, cache)


def bottleneck_forward(x, params, stride=1, training=True):
    """torchvision's Bottleneck: 1x1 (planes), 3x3 with the stride, 1x1 (4 * planes), each
    followed by batch norm, ReLUs between, then ``relu(main + downsample(x))``.

    ``params`` is keyed like ``Bottleneck(C_in, planes, stride).state_dict()``: ``conv1.weight``
    (planes, C_in, 1, 1), ``conv2.weight`` (planes, planes, 3, 3), ``conv3.weight``
    (4 * planes, planes, 1, 1), ``bn1..bn3``, and, when it projects (stride != 1 or
    C_in != 4 * planes), ``downsample.0.weight`` (4 * planes, C_in, 1, 1) and ``downsample.1.*``.
    """
    x, stride, training, layout = _check_call("bottleneck_forward", bottleneck_layout, x, params, stride, training)
    return _block_forward(x, params, layout, training)


def bottleneck_backward(dout, cache: ResidualCache):
    """``(dx, dparams)``, as ``basic_block_backward``."""
    return _block_backward("bottleneck_backward", dout, cache)
