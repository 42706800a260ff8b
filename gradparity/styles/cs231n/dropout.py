"""layers.py's dropout, which draws its own mask: PyTorch cannot drop the same units, so
its entry compares with PyTorch where no unit depends on the draw ('test' mode, and
'train' with p keeping every unit) and gradchecks the seeded 'train' mode;
``checks/test_course_dropout.py`` checks the drawn mask itself (``learner_dropout``).

What ``dropout_param['p']`` means changed between the course's years (the probability of
dropping a unit in 2017, of keeping one since 2018): it is read from the learner's
docstring (``dropout_meaning``)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import torch.nn.functional as F
from hypothesis import strategies as st

from ...sample import Sample
from ...strategies import make_array, shapes
from .. import Binding
from .common import LAYERS, binding, course_layout_entry, draw_data, unclashed

KEEP, DROP = "keep", "drop"
MEANING_WORDS = re.compile(r"\b(keep|keeps|keeping|kept|retain|retains|retaining|drop|drops|dropped|dropping)\b")


def _source(function) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):  # defined in a notebook cell, or not Python
        return ""


def dropout_meaning(function) -> tuple[str, str]:
    """``(KEEP or DROP, why)``: what ``dropout_param['p']`` means to the learner's
    ``dropout_forward``. The 2017 assignment's p is the probability of dropping a unit; since
    2018 it is the probability of keeping one. Read from the first sentence of the docstring
    that speaks of a probability and of keeping or dropping ('We keep each neuron output with
    probability p'; 'p is the probability of keeping a neuron output, as opposed to ...
    dropping'; 'We drop each neuron output with probability p'): whichever it says first.
    Where the docstring does not say, a scaling by 1 / (1 - p) in the code means the 2017
    meaning; else the current one, keep, is assumed."""
    text = " ".join((inspect.getdoc(function) or "").split()).lower()
    for sentence in re.split(r"\.\s", text):
        word = MEANING_WORDS.search(sentence) if "probab" in sentence else None
        if word is not None:
            keep = not word.group(1).startswith("drop")
            return (KEEP, "its docstring says so, as in the assignments since 2018") if keep else (DROP, "its docstring says so, as in the 2017 assignment")
    if re.search(r"\b1\.?0?\s*-\s*p\b", _source(function)):
        return DROP, "its docstring does not say, and its code scales by 1 / (1 - p), as in the 2017 assignment"
    return KEEP, "its docstring does not say: assumed, as in the assignments since 2018"


def dropout_param(keep: float, training: bool, seed: int | None, meaning: str) -> dict:
    """The course's ``dropout_param`` for keeping each unit with probability ``keep``."""
    param = {"p": keep if meaning == KEEP else 1 - keep, "mode": "train" if training else "test"}
    return param if seed is None else {**param, "seed": seed}


@dataclass(frozen=True)
class LearnerDropout:
    """The learner's dropout pair called in the course's terms, for the dropout check."""

    forward: Callable  # forward(x, keep, training, seed=None) -> (out, cache)
    backward: Callable | None  # None where the learner has not written it yet
    meaning: str
    why: str

    def p(self, keep: float) -> float:
        return keep if self.meaning == KEEP else 1 - keep

    def says(self, keep: float) -> str:
        """How a message names the call: ``dropout_param['p'] = 0.1, read as the drop probability (why)``."""
        return f"dropout_param['p'] = {self.p(keep):g}, read as the {self.meaning} probability ({self.why})"

    @property
    def mask_formula(self) -> str:
        return "(np.random.rand(*x.shape) < p) / p" if self.meaning == KEEP else "(np.random.rand(*x.shape) >= p) / (1 - p)"


def learner_dropout(module: ModuleType) -> LearnerDropout:
    meaning, why = dropout_meaning(module.dropout_forward)
    forward_fn, backward_fn = module.dropout_forward, getattr(module, "dropout_backward", None)

    def forward(x, keep, training, seed=None):
        return forward_fn(x, dropout_param(keep, training, seed, meaning))

    return LearnerDropout(forward, backward_fn if callable(backward_fn) else None, meaning, why)


@st.composite
def dropout_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    """``x`` of any shape and a ``dropout_param`` whose ``p`` (``keep``: the probability of
    keeping a unit) and ``seed`` are given. Compared with PyTorch: 'test' mode, and 'train'
    with p keeping every unit; gradcheck: 'train' with any p, the seed fixing the mask."""
    shape = draw(shapes(min_dims=1, max_dims=4, max_side=4 if for_gradcheck else 5), label="shape")
    training = True if for_gradcheck else draw(st.booleans(), label="training")
    if training and not for_gradcheck:
        keep = 1.0  # no unit dropped: the output does not depend on the function's own draw
    else:
        keep = draw(st.one_of(st.sampled_from([0.5, 0.8]), st.floats(0.05, 1.0)), label="p (keep)")
    seed, values, rng = draw_data(draw, for_gradcheck)
    return Sample({"x": make_array(rng, shape, values)}, {"p": keep, "training": training, "seed": seed}, seed, values)


def dropout_twin(x, p, training, seed):
    return F.dropout(x, 1 - p, training)


def dropout(module):
    """The learner's pair with ``p`` the keep probability, as the entry draws it."""
    learner = learner_dropout(module)
    return learner.forward, learner.backward


DROPOUT_NOTE = (
    "dropout_forward/dropout_backward: the mask is the function's own draw (dropout_param['seed'] makes it repeatable), so "
    "outputs are compared with PyTorch in 'test' mode and in 'train' mode with p keeping every unit; the drawn mask's kept "
    "fraction, the scaling of the kept units by 1 / p, the backward's use of the same mask and the seed are checked without "
    "PyTorch's random numbers"
)


def dropout_conventions(module) -> tuple[str, ...]:
    """The note, and what the adapter read in the learner's code: what p means."""
    meaning, why = dropout_meaning(module.dropout_forward)
    return DROPOUT_NOTE, f"dropout_forward: dropout_param['p'] read as the probability of {'keeping' if meaning == KEEP else 'dropping'} a unit: {why}"


def bindings() -> tuple[Binding, ...]:
    entry = course_layout_entry(
        unclashed("dropout"), array_args=("x",), twin=dropout_twin, samples=dropout_samples,
        hints={
            "out": "In 'test' mode dropout is the identity (out = x); in 'train' the kept units are scaled by 1 / p (inverted "
            "dropout, p the probability of keeping a unit). If your p is the probability of dropping one (the 2017 "
            "assignment), say so in dropout_forward's docstring ('p: the probability of dropping each unit').",
            "dx": "dx = dout * mask, the forward's scaled mask, in 'train'; dout in 'test'.",
        },
    )
    return (
        binding(
            entry, "dropout_forward", "dropout_backward", dropout, conventions=dropout_conventions, group=LAYERS,
            left_out={"a given mask": "dropout_forward draws its own mask, so PyTorch cannot drop the same units: outputs are compared "
                      "in 'test' mode and in 'train' mode with p keeping every unit, the drawn mask checked statistically"},
        ),
    )
