"""The learner's table: each layer against each check, printed at the end of a run.

Each test item carries ``layer`` and ``check`` in its ``user_properties`` (set at
collection, so they travel with xdist's reports to the controller). A cell is FAILED if
any of its tests failed, "not implemented" if all were skipped for that reason, passed if
at least one passed and none failed, and "-" when none ran.
"""

from __future__ import annotations

import json
from collections import defaultdict

from .implementation import NOT_IMPLEMENTED

PASSED, FAILED, MISSING, SKIPPED = "passed", "FAILED", NOT_IMPLEMENTED, "-"


class Summary:
    def __init__(self) -> None:
        self.outcomes: dict[tuple[str, str], list[str]] = defaultdict(list)

    def record(self, report) -> None:
        props = dict(report.user_properties)
        if "layer" not in props:
            return
        key = (props["layer"], props["check"])
        if report.failed:
            self.outcomes[key].append(FAILED)
        elif report.skipped:
            reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
            self.outcomes[key].append(MISSING if NOT_IMPLEMENTED in reason else SKIPPED)
        elif report.when == "call":
            self.outcomes[key].append(PASSED)

    def cell(self, layer: str, check: str) -> str:
        outcomes = self.outcomes.get((layer, check), [])
        if FAILED in outcomes:
            return FAILED
        if PASSED in outcomes:
            return PASSED
        if MISSING in outcomes:
            return MISSING
        return SKIPPED

    def table(self, layers, checks) -> dict[str, dict[str, str]]:
        seen = {layer for layer, _ in self.outcomes}
        return {layer: {check: self.cell(layer, check) for check in checks} for layer in layers if layer in seen}

    def render(self, layers, checks) -> list[str]:
        table = self.table(layers, checks)
        if not table:
            return []
        width = max(len(layer) for layer in table)
        column = max(len(c) for c in (*checks, NOT_IMPLEMENTED))
        lines = [f"{'layer':<{width}}  " + "  ".join(f"{c:<{column}}" for c in checks)]
        for layer, cells in table.items():
            lines.append(f"{layer:<{width}}  " + "  ".join(f"{cells[c]:<{column}}" for c in checks))
        return lines

    def write_json(self, path: str, layers, checks) -> None:
        with open(path, "w") as handle:
            json.dump(self.table(layers, checks), handle, indent=2)
