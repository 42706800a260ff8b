"""One drawn call of a layer: its arrays (in argument order) and hyperparameters.

An array argument is an ndarray, ``None`` (an absent optional array), or a dict of
ndarrays (the ``params`` of the recurrent layers, keyed like ``named_parameters()``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from reference import BATCH_COUNTER, BATCH_NORM_BUFFERS


def is_float(value: Any) -> bool:
    return isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating)


def map_arrays(value: Any, function) -> Any:
    """``function`` applied to an array, or to each array of a dict; None stays None."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {key: function(array) for key, array in value.items()}
    return function(value)


def flatten(name: str, value: Any) -> list[tuple[str, Any]]:
    """``[(label, array)]``: one pair, or one per dict entry, labelled ``name['key']``."""
    if isinstance(value, dict):
        return [(f"{name}['{key}']", array) for key, array in value.items()]
    return [(name, value)]


def is_buffer(key: str) -> bool:
    """A batch-norm buffer inside a params dict (a state_dict): no gradient, and updated
    in place in training."""
    return key.rpartition(".")[2] in BATCH_NORM_BUFFERS


def is_counter(key: str) -> bool:
    """A ``num_batches_tracked`` counter: an implementation may leave it alone or count
    training batches in it, as ``nn.BatchNorm2d`` does (SPEC v2); neither is checked."""
    return key.rpartition(".")[2] == BATCH_COUNTER


# How the arrays handed to the implementation lie in memory. The values are the same;
# a layer that builds windows with ``as_strided`` from strides of its own, or reads raw
# memory, gets non-contiguous arrays wrong (learners meet them: x.T, x[::-1], x[:, :, ::2]).
LAYOUTS = ("contiguous", "fortran", "transposed", "negative strides", "slice")


def laid_out(array: np.ndarray, layout: str) -> np.ndarray:
    """A copy of ``array`` with the same values, laid out in memory as ``layout`` says."""
    if layout == "contiguous" or array.ndim == 0:
        return array.copy()
    if layout == "fortran":
        return np.array(array, order="F")  # always a copy (np.asfortranarray keeps a 1-d array as it is)
    if layout == "transposed":  # the last two axes swapped in memory: what x.T.copy().T gives
        return np.swapaxes(np.swapaxes(array, -1, -2).copy(), -1, -2) if array.ndim > 1 else array[::-1].copy()[::-1]
    reverse = (slice(None, None, -1),) * array.ndim
    if layout == "negative strides":
        return array[reverse].copy()[reverse]
    if layout == "slice":  # every other element of a larger array, on every axis
        larger = np.zeros([2 * side for side in array.shape], dtype=array.dtype)
        every_other = (slice(None, None, 2),) * array.ndim
        larger[every_other] = array
        return larger[every_other]
    raise ValueError(f"unknown layout {layout!r}")


def describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype}{value.shape}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {describe(array)}" for key, array in value.items()) + "}"
    return repr(value)


@dataclass
class Sample:
    """Arrays keyed by argument name, in the forward's order, plus hyperparameters.
    ``seed`` and ``values`` say how the data was made, so a failure can be reproduced from
    its printed form alone; ``no_upstream`` names the outputs whose upstream gradient is
    None (the recurrent layers accept None for any of them); ``layout`` is how the arrays
    given to the implementation (and the upstream gradients) lie in memory (``LAYOUTS``)."""

    arrays: dict[str, Any]
    kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    values: str = "normal"
    no_upstream: tuple[str, ...] = ()
    layout: str = "contiguous"

    def astype(self, dtype: str) -> Sample:
        """The float arrays in ``dtype``; integer and bool arrays (targets, indices, masks) as they are."""
        arrays = {k: map_arrays(v, lambda a: a.astype(dtype) if is_float(a) else a) for k, v in self.arrays.items()}
        return dataclasses.replace(self, arrays=arrays, kwargs=dict(self.kwargs))

    def changed(self, arrays: dict[str, Any] | None = None, **kwargs: Any) -> Sample:
        """A copy with some arrays and hyperparameters replaced (the features' probes)."""
        return dataclasses.replace(self, arrays={**self.arrays, **(arrays or {})}, kwargs={**self.kwargs, **kwargs})

    def array_copies(self) -> list[Any]:
        """Fresh copies in the sample's layout, so that a layer that writes into its inputs
        cannot corrupt the sample."""
        return [map_arrays(v, lambda a: laid_out(a, self.layout)) for v in self.arrays.values()]

    def tensors(self, device: str, grad_args: tuple[str, ...] = ()) -> list[Any]:
        """Fresh tensors; the float ones of the arguments named in ``grad_args`` require
        gradients (not the buffers of a params dict)."""

        def tensor(array, name: str, key: str = "") -> torch.Tensor:
            trainable = name in grad_args and is_float(array) and not is_buffer(key)
            return torch.tensor(array, device=device, requires_grad=trainable)

        return [
            None if v is None
            else {key: tensor(a, name, key) for key, a in v.items()} if isinstance(v, dict)
            else tensor(v, name)
            for name, v in self.arrays.items()
        ]

    def call_args(self, signature: tuple[str, ...] | None, arrays=None, limit: float = float("inf")) -> list:
        """Every argument, positionally, in the order of ``signature`` (default: the arrays,
        then the hyperparameters as drawn). Positional, because a learner's parameter names
        may differ from the SPEC's; ``arrays`` replaces the sample's own (copies, tensors).
        ``limit``: how many the function takes; the rest are left off (they hold the API's
        defaults: a feature whose parameter a function lacks is never drawn for it)."""
        values = {**self.kwargs, **dict(zip(self.arrays, self.arrays.values() if arrays is None else arrays))}
        names = signature or (*self.arrays, *self.kwargs)
        given = [i for i, name in enumerate(names) if name in values]
        gaps = [name for name in names[: given[-1]] if name not in values]
        if gaps or len(given) != len(values):
            raise ValueError(f"sample {self!r} does not fill the signature {names}")
        return [values[name] for name in names[: given[-1] + 1]][: int(min(limit, len(names)))]

    def upstream_rng(self) -> np.random.Generator:
        """The generator of upstream gradients: derived from the sample, never all ones."""
        return np.random.default_rng([self.seed, 1])

    def _repr_pretty_(self, printer, cycle) -> None:  # hypothesis's pretty-printer: shapes, not values
        printer.text(repr(self))

    def __repr__(self) -> str:
        parts = [f"{k}={describe(v)}" for k, v in self.arrays.items()]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        extra = f", no upstream gradient for {', '.join(self.no_upstream)}" if self.no_upstream else ""
        extra += f", layout={self.layout!r}" if self.layout != "contiguous" else ""
        return f"({', '.join(parts)}; data seed={self.seed}, values={self.values!r}{extra})"
