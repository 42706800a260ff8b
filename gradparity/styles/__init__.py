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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..op_entry import OpEntry
    from ..optimizers import OptimizerEntry

from ..summary import NOT_APPLICABLE_CELL

SPEC = "spec"
STYLE_NAMES = ("auto", SPEC, "dls", "cs231n")


@dataclass(frozen=True)
class Binding:
    """One course pair checked as one entry. ``make(module)`` returns the API-layout
    ``(forward, backward)`` wrapping the learner's functions of that module (backward None
    when the learner has not written it, or for a forward-only function).

    ``forward``/``backward`` are the rows the summary shows (the learner's function names,
    or a variant: "pool_forward (max)"); ``forward`` None for a second backward that takes
    another binding's forward's cache (CS231n's ``batchnorm_backward_alt``). ``requires``:
    the learner's functions that must exist for the binding to be checked (default: the
    forward's row). ``group``: the assignment (file) it belongs to; the summary shows the
    groups a module touches. ``conventions``: what the adapter converts and which course
    conventions it follows, or a function of the learner's module that says so (a
    docstring can decide what ``p`` means). ``left_out``: the optional features the course's
    function cannot take, and why (never drawn, never probed)."""

    entry: OpEntry
    forward: str | None
    backward: str | None
    make: Callable[[ModuleType], tuple[Callable, Callable | None]]
    left_out: dict[str, str] = field(default_factory=dict)
    conventions: tuple[str, ...] | Callable[[ModuleType], tuple[str, ...]] = ()
    requires: tuple[str, ...] = ()
    group: str = ""
    # The adapter converts the learner's arrays to and from an API entry's layout (False:
    # the entry is written in the course's own layout).
    converts_layout: bool = True
    # The learner's code is a PyTorch module, its backward its own autograd: the backward's
    # row shows backward only (gradcheck would test PyTorch's autograd, not the learner),
    # and purity does not apply (the adapter hands it tensors of its own).
    autograd: bool = False

    def __post_init__(self) -> None:
        # Messages name the learner's functions, not the entry's internal name.
        title = self.entry.title or " / ".join(name for name in (self.forward, self.backward) if name)
        call = self.entry.call_label or self.forward or self.backward or ""
        object.__setattr__(self, "entry", replace(self.entry, title=title, call_label=call, converted_layout=self.converts_layout))

    @property
    def required(self) -> tuple[str, ...]:
        return self.requires or tuple(name for name in (self.forward,) if name)

    def defined_by(self, module: ModuleType) -> bool:
        return all(callable(getattr(module, name, None)) for name in self.required)

    def notes(self, module: ModuleType) -> tuple[str, ...]:
        return self.conventions(module) if callable(self.conventions) else self.conventions


@dataclass(frozen=True)
class OptimizerBinding:
    """A course's optimizer update checked as one optimizer entry (``optimizers.OptimizerEntry``):
    ``make(module)`` returns an API-style ``step(params, grads, state, *options)`` wrapping
    the learner's functions; ``function`` is the row (the learner's update function),
    ``requires`` the functions that must exist (an initialiser, the update)."""

    entry: OptimizerEntry
    function: str
    make: Callable[[ModuleType], Callable]
    requires: tuple[str, ...] = ()
    conventions: tuple[str, ...] = ()
    group: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "entry", replace(self.entry, title=self.entry.title or self.function, call_label=self.entry.call_label or self.function))

    @property
    def required(self) -> tuple[str, ...]:
        return self.requires or (self.function,)

    def defined_by(self, module: ModuleType) -> bool:
        return all(callable(getattr(module, name, None)) for name in self.required)

    def notes(self, module: ModuleType) -> tuple[str, ...]:
        return self.conventions


@dataclass(frozen=True)
class Style:
    name: str
    title: str  # "the Deep Learning Specialization"
    # The course's functions and their parameters, for detection (a list: several published spellings).
    signatures: Mapping[str, tuple[str, ...] | list[tuple[str, ...]]]
    bindings: Callable[[], tuple[Binding, ...]]  # built on demand: they import the registry (and torch)
    optimizer_bindings: Callable[[], tuple[OptimizerBinding, ...]] = tuple  # the course's optimizers, if any


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
    for name, spellings in candidate.signatures.items():
        function = getattr(module, name, None)
        parameters = _parameters(function) if callable(function) else ()
        for expected in spellings if isinstance(spellings, list) else [spellings]:
            if parameters[: len(expected)] == expected:
                found.append(f"{name}({', '.join(expected)})")
                break
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
    optimizer_bindings: tuple[OptimizerBinding, ...] = ()

    @property
    def every_binding(self) -> list[Binding | OptimizerBinding]:
        """The layer bindings, then the optimizers'."""
        return [*self.bindings, *self.optimizer_bindings]

    def binding(self, entry_name: str) -> Binding | None:
        return next((b for b in self.bindings if b.entry.name == entry_name), None)

    def groups_touched(self, source: ModuleType) -> set[str]:
        touched = {binding.group for binding in self.bindings if binding.defined_by(source) or any(callable(getattr(source, name, None)) for name in (binding.forward, binding.backward) if name)}
        return touched | {binding.group for binding in self.optimizer_bindings if any(callable(getattr(source, name, None)) for name in binding.required)}

    def rows(self, checks: tuple[str, ...], source: ModuleType) -> list[tuple[str, dict[str, str]]]:
        """The summary's rows: one per course function of the assignments the module touches,
        each check's cell taken from its entry. A forward's row shows forward, purity (of
        both functions) and errors (n/a unless the learner's function checks its input); a
        backward's row shows backward and gradcheck, and purity where it has no forward row
        of its own (a second backward)."""
        touched = self.groups_touched(source)
        rows: list[tuple[str, dict[str, str]]] = []
        for binding in self.bindings:
            if binding.group not in touched:
                continue
            name = binding.entry.name
            if binding.forward:
                # Bad calls exist only for an API layer's: course-only functions have none.
                errors = name if binding.entry.api_name and binding.entry.error_inputs else NOT_APPLICABLE_CELL
                purity = NOT_APPLICABLE_CELL if binding.autograd else name
                rows.append((binding.forward, {"forward": name, "purity": purity, "errors": errors}))
            if binding.backward:
                backward_checks = {"backward": name, "gradcheck": NOT_APPLICABLE_CELL if binding.autograd else name}
                rows.append((binding.backward, backward_checks | ({} if binding.forward else {"purity": name})))
        for optimizer in self.optimizer_bindings:
            if optimizer.group in touched:
                # The adapter gives the course's update copies (its functions update the dicts they
                # are given, by design): purity would judge the adapter, so it does not apply.
                rows.append((optimizer.function, {"trajectory": optimizer.entry.name, "purity": NOT_APPLICABLE_CELL, "errors": NOT_APPLICABLE_CELL}))
        return rows


def adapt(module: ModuleType, style_name: str) -> Adapted:
    chosen = style(style_name)
    bindings, optimizers = chosen.bindings(), chosen.optimizer_bindings()
    adapted = ModuleType(f"{module.__name__}[{style_name}]", f"{module.__name__} through the {style_name} adapter")
    for binding in bindings:
        if binding.defined_by(module):
            forward, backward = binding.make(module)
            setattr(adapted, binding.entry.forward_name, forward)
            if backward is not None:
                setattr(adapted, binding.entry.backward_name, backward)
    for optimizer in optimizers:
        if optimizer.defined_by(module):
            setattr(adapted, optimizer.entry.step_name, optimizer.make(module))
    return Adapted(chosen, adapted, bindings, optimizers)
