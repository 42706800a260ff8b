"""One drawn call of a layer: its arrays (in argument order) and hyperparameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


def is_float(value: Any) -> bool:
    return isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating)


def describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype}{value.shape}"
    return repr(value)


@dataclass
class Sample:
    """Arrays keyed by argument name, in the forward's order (``None`` for an absent
    optional array), plus keyword hyperparameters. ``seed`` and ``values`` say how the
    data was made, so a failure can be reproduced from its printed form alone."""

    arrays: dict[str, np.ndarray | None]
    kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    values: str = "normal"

    def astype(self, dtype: str) -> Sample:
        """The float arrays in ``dtype``; integer and bool arrays (targets, indices, masks) as they are."""
        arrays = {k: v.astype(dtype) if is_float(v) else v for k, v in self.arrays.items()}
        return Sample(arrays, dict(self.kwargs), self.seed, self.values)

    def array_copies(self) -> list[np.ndarray | None]:
        """Fresh copies, so that a layer that writes into its inputs cannot corrupt the sample."""
        return [None if v is None else v.copy() for v in self.arrays.values()]

    def tensors(self, device: str, grad_args: tuple[str, ...] = ()) -> list[torch.Tensor | None]:
        """Fresh tensors; those named in ``grad_args`` require gradients."""
        return [
            None if v is None else torch.tensor(v, device=device, requires_grad=k in grad_args and is_float(v))
            for k, v in self.arrays.items()
        ]

    def call_args(self, signature: tuple[str, ...] | None, arrays=None) -> list:
        """Every argument, positionally, in the order of ``signature`` (default: the arrays,
        then the hyperparameters as drawn). Positional, because a learner's parameter names
        may differ from the SPEC's; ``arrays`` replaces the sample's own (copies, tensors)."""
        values = {**self.kwargs, **dict(zip(self.arrays, self.arrays.values() if arrays is None else arrays))}
        names = signature or (*self.arrays, *self.kwargs)
        given = [i for i, name in enumerate(names) if name in values]
        gaps = [name for name in names[: given[-1]] if name not in values]
        if gaps or len(given) != len(values):
            raise ValueError(f"sample {self!r} does not fill the signature {names}")
        return [values[name] for name in names[: given[-1] + 1]]

    def upstream_rng(self) -> np.random.Generator:
        """The generator of upstream gradients: derived from the sample, never all ones."""
        return np.random.default_rng([self.seed, 1])

    def _repr_pretty_(self, printer, cycle) -> None:  # hypothesis's pretty-printer: shapes, not values
        printer.text(repr(self))

    def __repr__(self) -> str:
        parts = [f"{k}={describe(v)}" for k, v in self.arrays.items()]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"({', '.join(parts)}; data seed={self.seed}, values={self.values!r})"
