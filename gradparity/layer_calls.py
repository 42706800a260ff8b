"""Calling an implementation's layer pair, and its twin, the same way in every check.

An implementation's functions are called positionally, up to the number of arguments
each takes (``api.positional_capacity``): a learner's parameter names may differ from the
API's, and a learner-sized function may stop before the optional ones. Every call runs
under the item's ``Contract``, which judges the RuntimeWarnings it raises.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch
from hypothesis import strategies as st

from .api import positional_capacity
from .contract import UNJUDGED, Contract, Tally
from .implementation import NOT_CHECKED
from .op_entry import OpEntry
from .sample import LAYOUTS, Sample, laid_out
from .summary import NOT_APPLICABLE


def forward_args(entry: OpEntry, forward, sample: Sample, arrays=None) -> list:
    """The forward's arguments for ``sample``, as many as ``forward`` takes."""
    return sample.call_args(entry.signature, sample.array_copies() if arrays is None else arrays, positional_capacity(forward))


def run_forward(entry: OpEntry, forward, sample: Sample, arrays=None, *, contract: Contract) -> tuple[list, object]:
    """``(outputs, cache)``; a forward must return its outputs then the cache."""
    __tracebackhide__ = True
    args = forward_args(entry, forward, sample, arrays)
    with contract.watching(entry.name, entry.forward_name, lambda: f"{entry.forward_name}{sample!r}"):
        try:
            result = forward(*args)
        except Exception as error:
            add_hint(error)
            raise
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


def forward_for(entry: OpEntry, forward, sample: Sample, tally: Tally, arrays=None) -> tuple[list, object] | None:
    """The forward call that a backward, gradcheck or purity check needs. Its warnings are
    the forward column's to judge; if it raises, None: this example is not the check's
    (``Tally``), and the forward column reports what went wrong."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = run_forward(entry, forward, sample, arrays, contract=UNJUDGED)
    except Exception:  # a learner's forward may raise anything
        tally.forward_raised()
        return None
    tally.checked()
    return result


def run_backward(entry: OpEntry, backward, upstream: list, cache, *, contract: Contract, sample: Sample) -> list:
    """The gradients as a list in the order of the array arguments."""
    __tracebackhide__ = True
    with contract.watching(entry.name, entry.backward_name, lambda: f"{entry.forward_name}{sample!r}"):
        try:
            grads = backward(*upstream, cache)
        except Exception as error:
            add_hint(error)
            raise
    grads = list(grads) if isinstance(grads, tuple) else [grads]
    if len(grads) != len(entry.gradient_args):
        raise AssertionError(
            f"{entry.name}: {entry.backward_name} returned {len(grads)} gradients, but should return "
            f"{len(entry.gradient_args)}: ({', '.join('d' + a for a in entry.gradient_args)})"
        )
    return grads


def draw_upstream(entry: OpEntry, sample: Sample, outputs: list[np.ndarray | None]) -> list[np.ndarray | None]:
    """Random upstream gradients (a constant one, all ones, hides bugs such as a missing
    sum), in the sample's memory layout; None for the outputs the sample leaves without one,
    and for an output that is None (attention weights not asked for)."""
    rng = sample.upstream_rng()
    # np.asarray: a scalar loss gets a 0-d upstream gradient.
    upstream = [
        None if out is None else laid_out(np.asarray(rng.standard_normal(np.shape(out)), dtype=np.asarray(out).dtype), sample.layout)
        for out in outputs
    ]
    return [None if name in sample.no_upstream else grad for name, grad in zip(entry.outputs, upstream)]


def copies(arrays: list, layout: str = "contiguous") -> list:
    return [None if a is None else laid_out(a, layout) for a in arrays]


def dtype_applies(entry: OpEntry, check: str, dtype: str) -> None:
    """Skip a check in a dtype the entry leaves out entirely (a course's float64-only code)."""
    skip = entry.skipped_entirely(check, dtype)
    if skip is not None:
        pytest.skip(f"{NOT_APPLICABLE}: {skip.reason}")


def backward_side(entry: OpEntry) -> None:
    """Skip a backward-side check of a forward-only entry: it does not apply."""
    if not entry.has_backward:
        pytest.skip(f"{NOT_APPLICABLE}: {entry.forward_name} has no backward")


def add_hint(error: Exception) -> None:
    """A note on ``error``, from a learner's function, naming a classic cause."""
    text, hint = str(error), ""
    if isinstance(error, NameError):
        hint = (
            "hint: the function reads a name it does not define or import: in a notebook, a global of another cell "
            "(pass it in, as the parameters dict), or a helper the notebook did not import."
        )
    elif isinstance(error, TypeError) and ("'float' object cannot be interpreted as an integer" in text or "integer" in text and "slice" in text):
        hint = "hint: a size computed with / is a float in Python 3 (true division; code written for Python 2): use // or int()."
    if hint:  # PEP 678's notes (add_note is Python 3.11's; the attribute is what it sets)
        error.__notes__ = [*getattr(error, "__notes__", []), hint]  # type: ignore[attr-defined]


def edge_cases(entries) -> list[tuple[OpEntry, int]]:
    """``(entry, index)`` of every entry's edge cases, to parametrize a check by."""
    return [(entry, index) for entry in entries for index in range(len(entry.edge_cases))]


def edge_case_id(value) -> str:
    return value.name if isinstance(value, OpEntry) else str(value)


def edge_sample(impl, entry: OpEntry, index: int) -> Sample:
    """Edge case ``index`` of ``entry``; skipped, as not checked, when it needs a feature
    the implementation leaves out."""
    case = entry.edge_cases[index]
    missing = [name for name in case.features if name not in impl.features(entry)]
    if missing:
        pytest.skip(f"{NOT_CHECKED}: {case.description} needs {', '.join(missing)}")
    return case.make()


def draw_sample(data, entry: OpEntry, impl, *, for_gradcheck: bool = False) -> Sample:
    """A call of ``entry`` with the features ``impl`` supports, its arrays laid out in memory
    contiguously half of the time and in one of the other ``LAYOUTS`` otherwise. (gradcheck's
    bridge hands the implementation contiguous copies of its own.)"""
    sample = data.draw(entry.samples(for_gradcheck=for_gradcheck, features=impl.features(entry)), label=entry.name)
    if for_gradcheck:
        return sample
    layout = data.draw(st.one_of(st.just(LAYOUTS[0]), st.sampled_from(LAYOUTS[1:])), label="layout")
    return dataclasses.replace(sample, layout=layout)


def run_twin(entry: OpEntry, tensors: list[torch.Tensor | None], sample: Sample) -> list[torch.Tensor]:
    result = entry.twin(*sample.call_args(entry.signature, tensors))
    return list(result) if isinstance(result, tuple) else [result]
