"""What the CS231n adapters share: entries in the course's layout, the draws they are made
of, and the learner's returned values checked in the course's terms before conversion."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
import torch
from hypothesis import strategies as st

from ...assertions import shape_hint
from ...op_entry import EdgeCase, OpEntry
from ...registry import BY_NAME
from ...sample import Sample
from ...strategies import SEEDS, edge_or_range, make_array, moved_off, value_kinds
from .. import Binding
from ..adapting import course_entry, returned

# The assignment files, as the summary groups its rows: it shows the files a module touches.
LAYERS, RNN_LAYERS, LAYER_UTILS = "layers.py", "rnn_layers.py", "layer_utils.py"

# An entry named as an API layer (rnn, lstm, dropout) would sit in the adapted module under
# the API's function names, where the API's own checks (the model checks, dropout's mask
# check) look them up and would call a course-layout function as the API's. relu keeps its
# name: CS231n's relu pair is the API's.
SUFFIX = "_cs231n"


def unclashed(stem: str) -> str:
    """The entry name for ``stem``: suffixed where it is an API layer's name."""
    return f"{stem}{SUFFIX}" if stem in BY_NAME and stem != "relu" else stem


def course_layout_entry(name: str, **fields) -> OpEntry:
    """An entry in the course's layout, checked as a course's function (float64 only)."""
    return course_entry(OpEntry(name=name, **fields), name)


def learner_pair(module: ModuleType, forward_name: str, backward_name: str) -> tuple[Callable, Callable | None]:
    """The learner's forward, and their backward or None where it is not written yet: the
    forward's row is then checked alone (purity included), the backward's row says not
    implemented."""
    backward = getattr(module, backward_name, None)
    return getattr(module, forward_name), backward if callable(backward) else None


def adapted_pair(forward: Callable, backward: Callable, learner_backward: Callable | None) -> tuple[Callable, Callable | None]:
    """An adapter's pair, without its backward where the learner wrote none to wrap."""
    return forward, backward if learner_backward is not None else None


def as_written(forward_name: str, backward_name: str):
    """The learner's pair as it is: the entry is in the course's layout already."""

    def make(module):
        return learner_pair(module, forward_name, backward_name)

    return make


def forward_only_loss(function: str):
    """A course loss that returns ``(loss, dx)`` itself: its loss checked to be one number."""

    def make(module):
        learner = getattr(module, function)

        def forward(*arrays):
            loss, dx = learner(*arrays)
            return scalar_loss(function, loss), dx, None

        return forward, None

    return make


def draw_data(draw, for_gradcheck: bool, *, has_kinks: bool = False, extra: tuple[str, ...] = ()):
    """``(seed, kind of values, generator)`` for a sample's arrays."""
    seed = draw(SEEDS, label="seed")
    values = draw(value_kinds(for_gradcheck, has_kinks=has_kinks, extra=extra), label="values")
    return seed, values, np.random.default_rng(seed)


def draw_sizes(draw, labels: tuple[str, ...], high: int, typical: bool, *, low: int = 1) -> list[int]:
    """One size per label, from ``low`` (a third of the time) up to ``high``; ``typical``:
    all different, so that two axes mixed up show."""
    sizes: list[int] = []
    for label in labels:
        size = draw(st.integers(low, high) if typical else edge_or_range(low, high), label=label)
        sizes.append(moved_off(size, *sizes) if typical else size)
    return sizes


def corner(description: str, arrays: dict, **kwargs) -> EdgeCase:
    """A corner of the course's space checked in every profile: ``arrays`` maps each array
    argument to a shape (normal values) or to the array itself."""

    def make() -> Sample:
        rng = np.random.default_rng(0)
        made = {name: make_array(rng, value, "normal") if isinstance(value, tuple) else value for name, value in arrays.items()}
        return Sample(made, kwargs, 0, "normal")

    return EdgeCase(description, make)


def shaped(function: str, name: str, value, shape: tuple[int, ...], hint: str = "") -> np.ndarray:
    """``value`` returned by the learner's ``function`` as ``name``, an array of ``shape``;
    a wrong shape says its classic cause where the shapes tell it (``[pad:-pad]`` empty at
    pad 0, H and W swapped, a gradient not summed over the batch), else ``hint``."""
    __tracebackhide__ = True
    return returned(function, name, value, shape=shape, hint=shape_hint(tuple(np.shape(value)), tuple(shape)) or hint)


def scalar_loss(function: str, value) -> np.ndarray:
    return returned(function, "loss", value, shape=(), hint="the loss is one number, averaged over the N examples")


def with_gradient(loss_of: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, dloss/dx)`` by autograd: what a course's forward-only loss returns."""
    with torch.enable_grad():
        leaf = x.detach().requires_grad_(True)
        loss = loss_of(leaf)
        (dx,) = torch.autograd.grad(loss, leaf)
    return loss.detach(), dx


def binding(*args, **kwargs) -> Binding:
    """A CS231n binding. The course's arrays are the API's layout (images) or checked in the
    course's own (weights (D, M), batch-first sequences): messages show them as they are."""
    return Binding(*args, **{"converts_layout": False, **kwargs})
