"""Calling an implementation's layer pair, and its twin, the same way in every check.

An implementation's functions are called positionally, up to the number of arguments
each takes (``api.positional_capacity``): a learner's parameter names may differ from the
API's, and a learner-sized function may stop before the optional ones. Every call runs
under the item's ``Contract``, which judges the RuntimeWarnings it raises.
"""

from __future__ import annotations

import numpy as np
import torch

from .api import positional_capacity
from .contract import Contract
from .op_entry import OpEntry
from .sample import Sample


def forward_args(entry: OpEntry, forward, sample: Sample, arrays=None) -> list:
    """The forward's arguments for ``sample``, as many as ``forward`` takes."""
    return sample.call_args(entry.signature, sample.array_copies() if arrays is None else arrays, positional_capacity(forward))


def run_forward(entry: OpEntry, forward, sample: Sample, arrays=None, *, contract: Contract) -> tuple[list, object]:
    """``(outputs, cache)``; a forward must return its outputs then the cache."""
    __tracebackhide__ = True
    args = forward_args(entry, forward, sample, arrays)
    with contract.watching(entry.name, entry.forward_name, lambda: f"{entry.forward_name}{sample!r}"):
        result = forward(*args)
    if not isinstance(result, tuple) or len(result) < 2:
        raise AssertionError(
            f"{entry.name}: {entry.forward_name} returned {type(result).__name__}, but should return (out, cache)"
        )
    *outputs, cache = result
    if len(outputs) != len(entry.outputs):
        raise AssertionError(
            f"{entry.name}: {entry.forward_name} returned {len(outputs)} outputs before the cache, but should "
            f"return {len(entry.outputs)}: ({', '.join(entry.outputs)}, cache)"
        )
    return outputs, cache


def run_backward(entry: OpEntry, backward, upstream: list, cache, *, contract: Contract, sample: Sample) -> list:
    """The gradients as a list in the order of the array arguments."""
    __tracebackhide__ = True
    with contract.watching(entry.name, entry.backward_name, lambda: f"{entry.forward_name}{sample!r}"):
        grads = backward(*upstream, cache)
    grads = list(grads) if isinstance(grads, tuple) else [grads]
    if len(grads) != len(entry.gradient_args):
        raise AssertionError(
            f"{entry.name}: {entry.backward_name} returned {len(grads)} gradients, but should return "
            f"{len(entry.gradient_args)}: ({', '.join('d' + a for a in entry.gradient_args)})"
        )
    return grads


def draw_upstream(entry: OpEntry, sample: Sample, outputs: list[np.ndarray]) -> list[np.ndarray | None]:
    """Random upstream gradients (a constant one, all ones, hides bugs such as a missing
    sum); None for the outputs the sample leaves without one."""
    rng = sample.upstream_rng()
    # np.asarray: a scalar loss gets a 0-d upstream gradient.
    upstream = [np.asarray(rng.standard_normal(np.shape(out)), dtype=np.asarray(out).dtype) for out in outputs]
    return [None if name in sample.no_upstream else grad for name, grad in zip(entry.outputs, upstream)]


def copies(arrays: list) -> list:
    return [None if a is None else a.copy() for a in arrays]


def run_twin(entry: OpEntry, tensors: list[torch.Tensor | None], sample: Sample) -> list[torch.Tensor]:
    result = entry.twin(*sample.call_args(entry.signature, tensors))
    return list(result) if isinstance(result, tuple) else [result]
