"""The op registry: each layer described once; the generic tests run every check over it.

An entry names the layer (its functions are ``NAME_forward``/``NAME_backward``), its array
arguments in order, the PyTorch twin, a strategy of valid calls, per-dtype tolerances
(each loosening with its reason), the bad inputs it must reject, and hints: the classic
cause of a mismatch in one output or gradient. Adding a layer is a reference pair, a
twin and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

import torch_impl

from . import strategies
from .sample import Sample


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    reason: str = "torch.testing.assert_close's defaults for this dtype"


# assert_close's defaults: float64 leaves no room for a bug to hide.
DEFAULT_TOLERANCES = {
    "float64": Tolerance(1e-7, 1e-7),
    "float32": Tolerance(1.3e-6, 1e-5),
}


@dataclass(frozen=True)
class ErrorInput:
    """A bad call and what it must raise: ``exception`` with a message naming the
    function and ``argument``."""

    description: str
    arrays: tuple[Any, ...]
    kwargs: dict[str, Any]
    exception: type[Exception]
    argument: str


@dataclass(frozen=True)
class OpEntry:
    name: str
    array_args: tuple[str, ...]
    twin: Callable[..., Any]
    samples: Callable[..., st.SearchStrategy[Sample]]  # samples(for_gradcheck=bool)
    error_inputs: tuple[ErrorInput, ...] = ()
    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)  # keyed "out", "dx", "dweight", ...

    def __repr__(self) -> str:  # hypothesis prints it in every falsifying example: keep it short
        return f"OpEntry({self.name!r})"

    def _repr_pretty_(self, printer, cycle) -> None:  # hypothesis's pretty-printer (it expands dataclasses)
        printer.text(repr(self))

    @property
    def forward_name(self) -> str:
        return f"{self.name}_forward"

    @property
    def backward_name(self) -> str:
        return f"{self.name}_backward"

    def tolerance(self, dtype: str) -> Tolerance:
        return self.tolerances.get(dtype, DEFAULT_TOLERANCES[dtype])


def _normal(*shape: int, dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def _conv_errors() -> tuple[ErrorInput, ...]:
    x, w = _normal(2, 4, 6, 6), _normal(3, 4, 3, 3)
    return (
        ErrorInput("x with the wrong channel count", (_normal(2, 5, 6, 6), w), {}, ValueError, "x"),
        ErrorInput("groups that do not divide the channels", (x, _normal(3, 2, 3, 3)), {"groups": 2}, ValueError, "weight"),
        ErrorInput("kernel larger than the padded input", (_normal(1, 4, 2, 2), w), {"padding": 0}, ValueError, "weight"),
        ErrorInput("dilated kernel larger than the padded input", (_normal(1, 4, 4, 4), w), {"dilation": 2}, ValueError, "weight"),
        ErrorInput("zero stride", (x, w), {"stride": 0}, ValueError, "stride"),
        ErrorInput("negative padding", (x, w), {"padding": (1, -1)}, ValueError, "padding"),
        ErrorInput("unknown padding string", (x, w), {"padding": "full"}, ValueError, "padding"),
        ErrorInput("padding='same' with a stride", (x, w), {"padding": "same", "stride": 2}, ValueError, "padding"),
        ErrorInput("integer-typed input", (np.ones((2, 4, 6, 6), dtype=np.int64), w), {}, TypeError, "x"),
        ErrorInput("3-D input", (_normal(4, 6, 6), w), {}, ValueError, "x"),
        ErrorInput("bias of the wrong length", (x, w, _normal(4)), {}, ValueError, "bias"),
        ErrorInput("weight of another dtype", (x, w.astype(np.float32)), {}, TypeError, "weight"),
        ErrorInput("float stride", (x, w), {"stride": 1.5}, TypeError, "stride"),
    )


def _pool_errors(*, with_dilation: bool) -> tuple[ErrorInput, ...]:
    x = _normal(2, 3, 5, 5)
    errors = (
        ErrorInput("zero kernel_size", (x,), {"kernel_size": 0}, ValueError, "kernel_size"),
        ErrorInput("zero stride", (x,), {"kernel_size": 2, "stride": 0}, ValueError, "stride"),
        ErrorInput("padding over half the kernel", (x,), {"kernel_size": 3, "padding": 2}, ValueError, "padding"),
        ErrorInput("kernel larger than the padded input", (_normal(1, 1, 2, 2),), {"kernel_size": 3}, ValueError, "kernel_size"),
        ErrorInput("integer-typed input", (np.ones((2, 3, 5, 5), dtype=np.int32),), {"kernel_size": 2}, TypeError, "x"),
        ErrorInput("2-D input", (_normal(5, 5),), {"kernel_size": 2}, ValueError, "x"),
        ErrorInput("kernel_size as a float", (x,), {"kernel_size": 2.0}, TypeError, "kernel_size"),
        ErrorInput("ceil_mode as a string", (x,), {"kernel_size": 2, "ceil_mode": "yes"}, TypeError, "ceil_mode"),
    )
    if with_dilation:
        errors += (ErrorInput("zero dilation", (x,), {"kernel_size": 2, "dilation": 0}, ValueError, "dilation"),)
    return errors


CONV_FLOAT32 = Tolerance(
    1e-5, 1e-4,
    "float32 sums of up to ~100 products of values up to 3, accumulated in another order "
    "than PyTorch's kernels (oneDNN/cuDNN): a few float32 ulps of a sum near 100",
)

REGISTRY: tuple[OpEntry, ...] = (
    OpEntry(
        name="conv2d",
        array_args=("x", "weight", "bias"),
        twin=torch_impl.conv2d,
        samples=strategies.conv2d_samples,
        error_inputs=_conv_errors(),
        tolerances={"float32": CONV_FLOAT32},
        hints={
            "out": "PyTorch's conv2d is cross-correlation: the kernel is not flipped. Check the output size "
            "(H + 2p - d(k-1) - 1) // s + 1, the padding on both sides, and which input channels each group reads.",
            "dx": "dx is the transposed convolution: dout spread by the stride (zeros between), kernels flipped, "
            "dilation kept; rows past the last window get zero gradient.",
            "dweight": "dweight correlates the (padded, dilated, strided) input windows with dout, summed over the batch.",
            "dbias": "dbias is dout summed over N, H_out and W_out (not averaged).",
        },
    ),
    OpEntry(
        name="max_pool2d",
        array_args=("x",),
        twin=torch_impl.max_pool2d,
        samples=strategies.max_pool2d_samples,
        error_inputs=_pool_errors(with_dilation=True),
        hints={
            "out": "Padding is -inf (never the maximum); ceil_mode keeps a last window only if it starts inside "
            "the input or the left padding.",
            "dx": "With tied maxima PyTorch sends the gradient to the first maximum in row-major window order "
            "only; overlapping windows add their gradients.",
        },
    ),
    OpEntry(
        name="avg_pool2d",
        array_args=("x",),
        twin=torch_impl.avg_pool2d,
        samples=strategies.avg_pool2d_samples,
        error_inputs=_pool_errors(with_dilation=False),
        hints={
            "out": "count_include_pad=True divides by the window size including padding but not the ceil-mode "
            "overhang; False divides by the real pixels only.",
            "dx": "Each pixel receives dout / divisor from every window that contains it.",
        },
    ),
    OpEntry(
        name="adaptive_avg_pool2d",
        array_args=("x",),
        twin=torch_impl.adaptive_avg_pool2d,
        samples=strategies.adaptive_avg_pool2d_samples,
        error_inputs=(
            ErrorInput("zero output size", (_normal(1, 2, 4, 4),), {"output_size": 0}, ValueError, "output_size"),
            ErrorInput("integer-typed input", (np.ones((1, 2, 4, 4), dtype=np.int64),), {"output_size": 2}, TypeError, "x"),
            ErrorInput("output_size of three values", (_normal(1, 2, 4, 4),), {"output_size": (2, 2, 2)}, TypeError, "output_size"),
        ),
        hints={
            "out": "Window o spans [floor(o * H / H_out), ceil((o + 1) * H / H_out)): windows differ in size and "
            "may overlap when H_out does not divide H.",
        },
    ),
)

BY_NAME = {entry.name: entry for entry in REGISTRY}
LAYER_NAMES = tuple(BY_NAME)
CHECKS = ("forward", "backward", "gradcheck", "purity", "errors")
