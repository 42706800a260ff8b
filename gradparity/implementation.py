"""Load the implementation under test (``--impl``, once or repeated) and look its functions up."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

import pytest

from . import api

NOT_IMPLEMENTED = "not implemented"

NOT_CHECKED = "not checked"
REFERENCE = "reference"


class ImplementationError(Exception):
    """An implementation that cannot be loaded: a missing file, an import that raises,
    or two files defining the same API name. The message is for the user, whole."""


def _raised_at(error: BaseException, path: Path) -> str:
    """' (my_layers.py:12)': the deepest line of the learner's file in the traceback."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).parent == path.parent or Path(f.filename) == path]
    return f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""


def _load_file(spec: str, path: Path) -> ModuleType:
    init = path / "__init__.py" if path.is_dir() else path
    if not init.is_file():
        raise ImplementationError(f"--impl {spec}: no such file {init}")
    if path.suffix == ".ipynb":
        from .notebook import load_notebook

        try:
            return load_notebook(path, f"gradparity_impl_{path.stem.replace(' ', '_').replace('-', '_')}", spec)
        except Exception as error:  # not a notebook nbformat can read
            raise ImplementationError(f"--impl {spec}: cannot read it as a notebook ({type(error).__name__}: {error})") from error
    # The learner's folder goes on sys.path so that their module can import its siblings.
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    already = sys.modules.get(path.stem)
    already_file = getattr(already, "__file__", None)
    if already is not None and already_file and Path(already_file).resolve() == init:
        return already  # a sibling's `from layers import *` loaded this very file first: one copy
    name = f"gradparity_impl_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(path)] if path.is_dir() else None)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    # Also under its own name, so that a sibling's `from layers import *` (CS231n's
    # rnn_layers.py) finds this module rather than loading a second copy of the file.
    if path.stem.isidentifier() and path.stem not in sys.modules:
        sys.modules[path.stem] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as error:
        raise ImplementationError(f"--impl {spec}: importing it raised {type(error).__name__}: {error}{_raised_at(error, init)}") from error
    return module


def is_path(spec: str) -> bool:
    """A file or folder path (``my_layers.py``, ``../course/layers``), not a module name."""
    return spec.endswith((".py", ".ipynb")) or "/" in spec or os.sep in spec or spec in (".", "..")


def resolve(spec: str, base: Path) -> str:
    """``spec`` with a relative path made absolute against ``base`` (the folder pytest or
    the command was started from); module names unchanged."""
    return str((base / Path(spec).expanduser()).resolve()) if is_path(spec) else spec


def load_one(spec: str, name: str | None = None, base: Path | None = None) -> ModuleType:
    """Import ``spec``: a path to a ``.py`` file or a package folder, or a module name,
    importable from ``base`` too (as with ``python -m``); ``name`` is how messages call it."""
    name = name or spec
    if is_path(spec):
        return _load_file(name, Path(spec).resolve())
    if base is not None and str(base) not in sys.path:
        sys.path.append(str(base))  # last: a learner's folder must not shadow installed packages
    try:
        return importlib.import_module(spec)
    except ImportError as error:
        raise ImplementationError(f"--impl {name}: cannot import it ({error}); pass a module name or a path to a .py file") from error


def merge(modules: list[tuple[str, ModuleType]]) -> ModuleType:
    """One module with the public names of several, in order. An API function defined by two
    of them (as different functions) is an error naming both."""
    merged = ModuleType("gradparity_impl", f"merged from {', '.join(spec for spec, _ in modules)}")
    origin: dict[str, str] = {}
    for spec, module in modules:
        for name in dir(module):
            if name.startswith("_"):
                continue
            value = getattr(module, name)
            if name in api.function_names() and name in origin and getattr(merged, name) is not value:
                raise ImplementationError(f"--impl: {name} is defined by both {origin[name]} and {spec}; keep one of them")
            if not hasattr(merged, name):
                setattr(merged, name, value)
                origin[name] = spec
    merged.__gradparity_sources__ = [spec for spec, _ in modules]  # type: ignore[attr-defined]
    merged.__gradparity_loads__ = [getattr(module, "__gradparity_load__", None) for _, module in modules]  # type: ignore[attr-defined]
    return merged


def load(specs: list[str], names: list[str] | None = None, base: Path | None = None) -> ModuleType:
    """The implementation of ``specs`` (merged when several); ``names``: how messages call them."""
    loaded = [(name, load_one(spec, name, base)) for spec, name in zip(specs, names or specs)]
    return loaded[0][1] if len(loaded) == 1 else merge(loaded)


class Implementation:
    """The module under test. A name it does not define is *not implemented*: the test
    skips with that reason, or fails under ``strict``.

    ``full_api``: every optional feature of every layer is drawn; otherwise a layer is
    checked on the features it supports (``features.unsupported_features``).
    ``contract``: bad-input errors and RuntimeWarnings fail (``contract.Contract``).
    The reference's own run always has both.

    ``style``: 'spec' (the API itself), a course's ('dls', 'cs231n'), or 'auto' (detected
    from the module's names and signatures; ``style_reason`` says why). A course's module
    is checked through its style's adapter (``gradparity.styles``): ``module`` is then the
    adapted one, and ``source`` the learner's own."""

    def __init__(
        self, module: ModuleType, label: str, *, strict: bool = False, full_api: bool = False, contract: bool = False, style: str = "auto"
    ) -> None:
        from . import styles

        self.source, self.label, self.strict = module, label, strict
        is_reference = module.__name__ == REFERENCE
        self.full_api, self.contract = full_api or strict or is_reference, contract or is_reference
        self.style, self.style_reason = styles.detect(module) if style == "auto" else (style, "--impl-style")
        self.adapted = None if self.style == styles.SPEC else styles.adapt(module, self.style)
        self.module = module if self.adapted is None else self.adapted.module
        self._unsupported: dict[str, dict[str, str]] = {}

    def __repr__(self) -> str:
        return f"Implementation({self.label!r})"

    def defines(self, name: str) -> bool:
        return callable(getattr(self.module, name, None))

    def defined_api_names(self) -> list[str]:
        return sorted(name for name in api.function_names() if self.defines(name))

    def learner_name(self, name: str) -> str:
        """The learner's function behind an entry's function name (a course's: its row)."""
        if self.adapted is not None:
            for binding in self.adapted.bindings:
                if name == binding.entry.forward_name and binding.forward:
                    return binding.forward
                if name == binding.entry.backward_name and binding.backward:
                    return binding.backward
        return name

    def get(self, *names: str):
        missing = [name for name in names if not self.defines(name)]
        if missing:
            message = f"{NOT_IMPLEMENTED}: {self.label} does not define {', '.join(self.learner_name(name) for name in missing)}"
            if self.strict:
                pytest.fail(message + " (--impl-strict)", pytrace=False)
            pytest.skip(message)
        found = [getattr(self.module, name) for name in names]
        return found[0] if len(found) == 1 else found

    @property
    def is_course(self) -> bool:
        return self.adapted is not None

    def entries(self) -> tuple:
        """The registry entries a run checks: the API's, or the course style's bindings'."""
        if self.adapted is not None:
            return tuple(binding.entry for binding in self.adapted.bindings)
        from .registry import REGISTRY

        return REGISTRY

    def optimizer_entries(self) -> tuple:
        """The optimizers a run checks (``optimizers.OptimizerEntry``): the API's, or the course style's."""
        if self.adapted is not None:
            return tuple(binding.entry for binding in self.adapted.optimizer_bindings)
        from .optimizers import ENTRIES

        return ENTRIES

    def rows(self, checks: tuple[str, ...]) -> list[tuple[str, dict[str, str]]]:
        """The summary's rows: each layer and model (a course's: each of its functions), and
        for each check the entry whose cell it shows; an optimizer's row shows the
        trajectory, purity and errors columns (a layer's, all but trajectory)."""
        if self.adapted is not None:
            return self.adapted.rows(checks, self.source)
        from .model_cases import BY_NAME as MODEL_CASES
        from .summary import LAYER_CHECKS, OPTIMIZER_CHECKS

        layer_checks = tuple(check for check in checks if check in LAYER_CHECKS)
        optimizer_checks = tuple(check for check in checks if check in OPTIMIZER_CHECKS)
        return [
            *((name, dict.fromkeys(layer_checks, name)) for name in (*(entry.name for entry in self.entries()), *MODEL_CASES)),
            *((entry.name, dict.fromkeys(optimizer_checks, entry.name)) for entry in self.optimizer_entries()),
        ]

    def left_out_by_row(self, rows) -> dict[str, dict[str, str]]:
        """For each row, the optional features the learner's code left out, with why. A
        course function's space is its course's (its notes say what that is): what the course
        itself lacks (dilation, ...) is not the learner's to add, and is not listed."""
        return self._left_out_by_row(rows, by_the_course=False)

    def course_left_out_by_row(self, rows) -> dict[str, dict[str, str]]:
        """For each course function's row, the optional features its course does not have."""
        return self._left_out_by_row(rows, by_the_course=True)

    def _left_out_by_row(self, rows, *, by_the_course: bool) -> dict[str, dict[str, str]]:
        by_name = {entry.name: entry for entry in (*self.entries(), *self.optimizer_entries())}
        left_out = {}
        for name, keys in rows:
            entry = next((by_name[key] for key in keys.values() if key in by_name), None)
            if entry is not None:
                binding = self.adapted.binding(entry.name) if self.adapted else None
                declared = binding.left_out if binding else {}
                left_out[name] = {feature: why for feature, why in self.unsupported(entry).items() if (feature in declared) == by_the_course}
        return left_out

    def shows(self, entry_name: str, check: str) -> bool:
        """Whether a row of the summary shows the cell: a course's rows leave some out (the
        forward of a second backward, shown by its own binding)."""
        from .summary import CHECKS

        return any(keys.get(check) == entry_name for _, keys in self.rows(CHECKS))

    def defines_anything(self) -> bool:
        if self.adapted is not None:
            return any(binding.defined_by(self.source) for binding in self.adapted.every_binding)
        return bool(self.defined_api_names())

    def conventions(self) -> list[str]:
        """What the course adapter converts and which course conventions it applies, for the
        bindings the learner's module defines."""
        if self.adapted is None:
            return []
        notes = [note for binding in self.adapted.every_binding if binding.defined_by(self.source) for note in binding.notes(self.source)]
        return list(dict.fromkeys(notes))

    def loading_notes(self) -> list[str]:
        """What loading notebooks reported (a cell that failed, helpers supplied)."""
        loads = getattr(self.source, "__gradparity_loads__", None) or [getattr(self.source, "__gradparity_load__", None)]
        return [note for load in loads if load is not None for note in load.notes()]

    def unsupported(self, entry) -> dict[str, str]:
        """The optional features of ``entry`` left out for this implementation, with why: a
        course's function cannot take some (its style says which); the others are probed
        unless ``full_api``. Empty when the layer is not implemented."""
        from .optimizers import OptimizerEntry

        if isinstance(entry, OptimizerEntry) and entry.api_name:  # a course's update: it takes the course's options, all of them
            return {}
        binding = self.adapted.binding(entry.name) if self.adapted else None
        declared = dict(binding.left_out) if binding else {}
        if self.full_api or not self.defines(entry.forward_name):
            return declared
        if entry.name not in self._unsupported:
            from .features import unsupported_features  # needs torch: only in a checking run

            forward = getattr(self.module, entry.forward_name)
            backward = getattr(self.module, entry.backward_name, None) if entry.has_backward else None
            probed = unsupported_features(entry.with_features_left_out(declared), forward, backward)
            order = [f.name for f in entry.features]  # the entry's order, then what only the course declares
            self._unsupported[entry.name] = dict(sorted((declared | probed).items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))
        return self._unsupported[entry.name]

    def features(self, entry) -> frozenset[str]:
        """The optional features of ``entry`` to draw for this implementation."""
        left_out = self.unsupported(entry)
        return frozenset(feature.name for feature in entry.features if feature.name not in left_out)

    def require_features(self, layer_features: dict[str, tuple[str, ...]], registry: dict) -> None:
        """Skip, as not checked, a test that needs features this implementation left out."""
        for layer, needed in layer_features.items():
            missing = [name for name in needed if name in self.unsupported(registry[layer])]
            if missing:
                pytest.skip(f"{NOT_CHECKED}: needs {layer} with {', '.join(missing)}, which {self.label} leaves out")

    def nothing_to_check_message(self) -> str:
        """Why a run checked nothing: what the module defines that looks like a layer, and
        the API names closest to those."""
        if self.adapted is not None:
            written = [name for binding in self.adapted.every_binding if binding.defined_by(self.source) for name in binding.required]
            if written:
                return f"nothing was checked: {self.label} defines {', '.join(dict.fromkeys(written))}, but no check of them ran (see --layer, -k and the skips above)"
            return f"nothing was checked: {self.label} defines none of the functions gradparity checks in {self.adapted.style.title}'s style (`--impl-style spec` checks the API's)"
        defined = self.defined_api_names()
        if defined:
            layers = sorted({api.split(name)[0] for name in defined})
            return (
                f"nothing was checked: {self.label} implements {', '.join(layers)}, but no check of "
                f"{'them' if len(layers) > 1 else 'it'} ran (see --layer, -k and the skips above)"
            )
        source = self.source
        candidates = sorted(name for name in dir(source) if not name.startswith("_") and callable(getattr(source, name)) and api.looks_like_a_layer(name))
        lines = [f"nothing was checked: {self.label} defines none of the API's layer functions (run `gradparity list` for them)."]
        if candidates:
            lines.append(f"It defines {', '.join(candidates)}.")
            suggestions = [f"{name} -> {' or '.join(api.closest(name))}" for name in candidates if api.closest(name)]
            if suggestions:
                lines.append("Closest API names: " + "; ".join(suggestions) + ".")
        return "\n".join(lines)
