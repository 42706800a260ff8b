"""Load the implementation under test (``--impl``) and look its functions up."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

NOT_IMPLEMENTED = "not implemented"


def load(spec: str) -> ModuleType:
    """Import ``spec``: a path to a ``.py`` file (or a package folder), or a dotted module name."""
    path = Path(spec)
    if spec.endswith(".py") or path.is_dir() or path.exists():
        path = path.resolve()
        init = path / "__init__.py" if path.is_dir() else path
        if not init.is_file():
            raise pytest.UsageError(f"--impl {spec}: no such file {init}")
        # The learner's folder goes on sys.path so that their module can import its siblings.
        folder = str(path.parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        name = f"gradparity_impl_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(path)] if path.is_dir() else None)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as error:
            raise pytest.UsageError(f"--impl {spec}: importing it raised {type(error).__name__}: {error}") from error
        return module
    try:
        return importlib.import_module(spec)
    except ImportError as error:
        raise pytest.UsageError(f"--impl {spec}: cannot import it ({error}); pass a module name or a path to a .py file") from error


class Implementation:
    """The module under test. A name it does not define is *not implemented*: the test
    skips with that reason, or fails under ``--impl-strict``."""

    def __init__(self, module: ModuleType, label: str, strict: bool) -> None:
        self.module, self.label, self.strict = module, label, strict

    def __repr__(self) -> str:
        return f"Implementation({self.label!r})"

    def get(self, *names: str):
        missing = [name for name in names if not callable(getattr(self.module, name, None))]
        if missing:
            message = f"{NOT_IMPLEMENTED}: {self.label} does not define {', '.join(missing)}"
            if self.strict:
                pytest.fail(message + " (--impl-strict)", pytrace=False)
            pytest.skip(message)
        found = [getattr(self.module, name) for name in names]
        return found[0] if len(found) == 1 else found
