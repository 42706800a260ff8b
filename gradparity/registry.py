"""The op registry: each layer described once; the generic tests run every check over it.

The registry assembles itself: every module of ``gradparity.ops`` (one per family of
layers; names starting with ``_`` are helpers) is imported and its ``ENTRIES`` taken, in
the modules' alphabetical order. Adding a layer is a reference pair, a twin in
``torch_impl`` and one ``OpEntry`` in the module of its family; adding a family is one
module. ``tests/test_registry.py`` holds the registry against the reference's functions
and signatures (see ``op_entry.py`` for what an entry says).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from . import ops
from .op_entry import DEFAULT_TOLERANCES, ErrorInput, Feature, OpEntry, Skip, Tolerance
from .summary import CHECKS


def discover_families(package: ModuleType = ops) -> list[ModuleType]:
    """The family modules of ``package`` (``gradparity.ops``), each with its ``ENTRIES``."""
    families = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if not isinstance(getattr(module, "ENTRIES", None), tuple):
            raise TypeError(f"{module.__name__}: a family module must define ENTRIES, a tuple of OpEntry")
        families.append(module)
    return families


REGISTRY: tuple[OpEntry, ...] = tuple(entry for family in discover_families() for entry in family.ENTRIES)

BY_NAME = {entry.name: entry for entry in REGISTRY}
DTYPES_CHECKED = ("float64", "float32")
LAYER_NAMES = tuple(BY_NAME)

__all__ = ["BY_NAME", "CHECKS", "DEFAULT_TOLERANCES", "DTYPES_CHECKED", "LAYER_NAMES", "REGISTRY", "ErrorInput", "Feature", "OpEntry", "Skip", "Tolerance"]
