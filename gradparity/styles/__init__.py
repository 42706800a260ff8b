"""Course styles: code written in a course's own conventions, checked as it is.

A learner's module in the style of a course (the Deep Learning Specialization's
``conv_forward(A_prev, W, b, hparameters)``, CS231n's ``conv_forward_naive(x, w, b,
conv_param)``) is checked through an adapter: each ``Binding`` names the learner's
forward/backward pair and wraps it as an API-layout pair of a registry entry (converting
layouts and parameter conventions both ways), so that forward, backward, gradcheck and
purity run unchanged. A binding's entry may draw only what the course's functions take
(``left_out`` features, and a strategy restricted to the course's space), and it says
which course conventions it applied. The summary speaks the course's names: one row per
function the learner wrote.

``detect`` picks the style from the names and signatures a module defines.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

from ..op_entry import OpEntry

SPEC = "spec"
STYLE_NAMES = ("auto", SPEC, "dls", "cs231n")


@dataclass(frozen=True)
class Binding:
    """One course pair checked as one entry. ``make(module)`` returns the API-layout
    ``(forward, backward)`` wrapping the learner's functions of that module (backward None
    for a forward-only function)."""

    entry: OpEntry
    forward: str  # the learner's function names, as the summary shows them
    backward: str | None
    make: Callable[[ModuleType], tuple[Callable, Callable | None]]
    left_out: dict[str, str] = field(default_factory=dict)  # features the course's function cannot take, and why
    conventions: tuple[str, ...] = ()  # what the adapter converts, in the course's words

    def defined_by(self, module: ModuleType) -> bool:
        return all(callable(getattr(module, name, None)) for name in (self.forward, self.backward) if name)


@dataclass(frozen=True)
class Style:
    name: str
    title: str  # "the Deep Learning Specialization"
    signatures: dict[str, tuple[str, ...]]  # the course's functions and their parameters, for detection
    bindings: Callable[[], tuple[Binding, ...]]  # built on demand: they import the registry (and torch)
    helpers: tuple[str, ...] = ()  # course functions the style knows but does not check (zero_pad, ...)


COURSE_MODULES = ("dls", "cs231n")  # gradparity.styles.<name>, each defining STYLE


def _styles() -> dict[str, Style]:
    found = [importlib.import_module(f"{__name__}.{name}").STYLE for name in COURSE_MODULES]
    return {candidate.name: candidate for candidate in found}


def style(name: str) -> Style:
    return _styles()[name]


def _parameters(function) -> tuple[str, ...]:
    try:
        return tuple(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return ()


def matches(module: ModuleType, candidate: Style) -> list[str]:
    """The functions of ``module`` that have a name of ``candidate``'s and its parameters."""
    found = []
    for name, expected in candidate.signatures.items():
        function = getattr(module, name, None)
        if callable(function) and _parameters(function)[: len(expected)] == expected:
            found.append(f"{name}({', '.join(expected)})")
    return found


def detect(module: ModuleType) -> tuple[str, str]:
    """``(style name, why)``: the course whose functions the module defines most of, by name
    and parameters; the API's own style when no course's function is there."""
    scores = {name: matches(module, candidate) for name, candidate in _styles().items()}
    best = max(scores, key=lambda name: len(scores[name]))
    if not scores[best]:
        return SPEC, "it defines none of the courses' functions"
    found = scores[best]
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    return best, f"it defines {', '.join(found[:3])}{more}, in the style of {style(best).title}"


@dataclass
class Adapted:
    """A learner's module seen through a style's bindings: ``module`` holds, for every
    binding whose functions the learner defines, the API-layout pair under the entry's
    names (``<entry>_forward``/``<entry>_backward``)."""

    style: Style
    module: ModuleType
    bindings: tuple[Binding, ...]

    def binding(self, entry_name: str) -> Binding | None:
        return next((b for b in self.bindings if b.entry.name == entry_name), None)

    def rows(self, checks: tuple[str, ...]) -> list[tuple[str, dict[str, str]]]:
        """The summary's rows: one per course function, each check's cell taken from its entry."""
        rows: list[tuple[str, dict[str, str]]] = []
        for binding in self.bindings:
            name = binding.entry.name
            forward_checks = ("forward", "purity", "errors")
            rows.append((binding.forward, {check: name for check in forward_checks}))
            if binding.backward:
                rows.append((binding.backward, {check: name for check in ("backward", "gradcheck", "purity")}))
        return rows


def adapt(module: ModuleType, style_name: str) -> Adapted:
    chosen = style(style_name)
    bindings = chosen.bindings()
    adapted = ModuleType(f"{module.__name__}[{style_name}]", f"{module.__name__} through the {style_name} adapter")
    for binding in bindings:
        if binding.defined_by(module):
            forward, backward = binding.make(module)
            setattr(adapted, binding.entry.forward_name, forward)
            if backward is not None:
                setattr(adapted, binding.entry.backward_name, backward)
    return Adapted(chosen, adapted, bindings)
