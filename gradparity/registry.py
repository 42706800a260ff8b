"""The op registry: each layer described once; the generic tests run every check over it.

Adding a layer is a reference pair, a twin in ``torch_impl`` and one ``OpEntry`` in the
``gradparity/ops`` module of its family (see ``op_entry.py`` for what an entry says).
"""

from __future__ import annotations

from .op_entry import DEFAULT_TOLERANCES, ErrorInput, Feature, OpEntry, Tolerance
from .ops import conv_pool, dense, losses, norm, recurrent, residual, style
from .summary import CHECKS

REGISTRY: tuple[OpEntry, ...] = (*conv_pool.ENTRIES, *dense.ENTRIES, *losses.ENTRIES, *norm.ENTRIES, *recurrent.ENTRIES, *residual.ENTRIES, *style.ENTRIES)

BY_NAME = {entry.name: entry for entry in REGISTRY}
LAYER_NAMES = tuple(BY_NAME)

__all__ = ["BY_NAME", "CHECKS", "DEFAULT_TOLERANCES", "LAYER_NAMES", "REGISTRY", "ErrorInput", "Feature", "OpEntry", "Tolerance"]
