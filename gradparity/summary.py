"""The learner's table: each layer against each check, printed at the end of a run.

Each test item carries ``layer`` and ``check`` in its ``user_properties`` (set at
collection, so they travel with xdist's reports to the controller), and the advisory
notes of ``contract.Contract``. A cell is FAILED if any of its tests failed, "not
implemented" if all were skipped for that reason, passed if at least one passed and none
failed (``passed, with <note>`` when the contract was breached, advisory), "not checked"
when its tests were skipped for want of a feature, and "-" when none ran. A layer checked
without some of its optional features says so: ``passed (without dilation, groups)``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .contract import ADVISORY, EXAMPLE, TALLY
from .implementation import NOT_CHECKED, NOT_IMPLEMENTED

# The table's columns: a layer's row has the first five, an optimizer's the last three.
CHECKS = ("forward", "backward", "gradcheck", "purity", "errors", "trajectory")
LAYER_CHECKS = CHECKS[:5]
OPTIMIZER_CHECKS = ("purity", "errors", "trajectory")
PASSED, FAILED, MISSING, UNCHECKED, SKIPPED = "passed", "FAILED", NOT_IMPLEMENTED, NOT_CHECKED, "-"
XFAILED, SKIPPED_BY_USER = "xfailed", "skipped"  # listed in --xfails-file / --skips-file
FORWARD_RAISED = f"{NOT_CHECKED} (forward raised)"  # every example's forward raised: the forward column says why
IMPL_ITEM = ("gradparity", "impl")  # a user property: the item uses the implementation under test
NOT_APPLICABLE = "n/a"  # a check the implementation's style does not take part in
NOT_APPLICABLE_CELL = "<n/a>"  # a row's cell that no test fills: the check does not apply
Row = tuple[str, dict[str, str]]  # a table row: its name, and for each check the cell key (entry) it shows


@dataclass
class Failure:
    layer: str
    check: str
    test: str
    message: str  # the exception's text: its first line is the summary, the rest the detail
    where: str  # file:line where it was raised (the learner's own line, for an exception in their code)


@dataclass
class Cell:
    outcomes: list[str] = field(default_factory=list)
    advisories: list[tuple[str, ...]] = field(default_factory=list)  # each passed test's notes

    @property
    def verdict(self) -> str:
        for outcome in (FAILED, PASSED, FORWARD_RAISED, MISSING, UNCHECKED, XFAILED, SKIPPED_BY_USER, NOT_APPLICABLE):
            if outcome in self.outcomes:
                return outcome
        return SKIPPED

    def text(self, left_out: list[str], *, count_tests: bool = False) -> str:
        """The table's cell; ``count_tests``: say how many of its tests had the note (each
        bad call of the errors column is a test of its own)."""
        verdict = self.verdict
        if verdict != PASSED:
            return verdict
        notes = Counter(note for notes in self.advisories for note in set(notes))
        if len(notes) > 1:
            verdict = f"passed, with {len(notes)} advisories"
        elif notes:
            (note, count), = notes.items()
            tests = self.outcomes.count(PASSED)
            verdict = f"passed, with {note}" + (f" ({count} of {tests})" if count_tests and tests > 1 else "")
        return f"{verdict} (without {', '.join(left_out)})" if left_out else verdict


def failure(layer: str, check: str, report) -> Failure:
    """The failure's exception text, without pytest's ``E`` prefixes or the traceback."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    where = f"{crash.path}:{crash.lineno}" if crash is not None else ""
    return Failure(layer, check, report.nodeid, text.removeprefix("AssertionError: ").removeprefix("Failed: "), where)


class Summary:
    def __init__(self) -> None:
        self.cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
        self.failures: list[Failure] = []
        self.examples: dict[tuple[str, str, str], str] = {}  # (layer, check, note) -> a full message
        self.impl_items = 0  # reports of tests that used the implementation under test

    def record(self, report) -> None:
        props = report.user_properties
        keys = dict(props)
        if IMPL_ITEM in props and report.when == "call":
            self.impl_items += 1
        if "layer" not in keys:
            return
        cell = self.cells[keys["layer"], keys["check"]]
        if report.failed:
            cell.outcomes.append(FAILED)
            self.failures.append(failure(keys["layer"], keys["check"], report))
        elif report.skipped and hasattr(report, "wasxfail"):
            cell.outcomes.append(XFAILED)
        elif report.skipped:
            reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
            kinds = ((NOT_IMPLEMENTED, MISSING), (NOT_CHECKED, UNCHECKED), (f"{SKIPPED_BY_USER}: ", SKIPPED_BY_USER), (f"{NOT_APPLICABLE}: ", NOT_APPLICABLE))
            cell.outcomes.append(next((outcome for marker, outcome in kinds if marker in reason), SKIPPED))
        elif report.when == "call" and keys.get(TALLY, {}).get("forward raised") and not keys[TALLY]["checked"]:
            cell.outcomes.append(FORWARD_RAISED)
        elif report.when == "call":
            cell.outcomes.append(PASSED)
            cell.advisories.append(tuple(value for key, value in props if key == ADVISORY))
            for key, value in props:
                if key == EXAMPLE:
                    self.examples.setdefault((keys["layer"], keys["check"], value[0]), value[1])

    @property
    def checked_anything(self) -> bool:
        return any(cell.verdict in (PASSED, FAILED) for cell in self.cells.values())

    def rows_seen(self, rows: list[Row]) -> list[Row]:
        """The rows with at least one recorded cell."""
        seen = set(self.cells)
        return [(name, keys) for name, keys in rows if any((key, check) in seen for check, key in keys.items())]

    def cell(self, keys: dict[str, str], check: str) -> Cell | None:
        key = keys.get(check)
        return None if key is None or (key, check) not in self.cells else self.cells[key, check]

    def table(self, rows: list[Row], checks, left_out: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        table = {}
        for name, keys in self.rows_seen(rows):
            texts = {}
            for check in checks:
                cell = self.cell(keys, check)
                # The errors column's bad calls are fixed, not drawn: features do not apply to it.
                features = [] if check == "errors" else list(left_out.get(name, {}))
                if keys.get(check) == NOT_APPLICABLE_CELL:
                    texts[check] = NOT_APPLICABLE
                    continue
                texts[check] = "" if check not in keys else SKIPPED if cell is None else cell.text(features, count_tests=check == "errors")
            table[name] = texts
        return table

    def render(self, rows: list[Row], checks, left_out: dict[str, dict[str, str]]) -> list[str]:
        """The table's lines: a row per layer (or course function) with a verdict, one line
        naming those not implemented, then each left-out feature with why."""
        table = self.table(rows, checks, left_out)
        missing = [name for name, cells in table.items() if MISSING in cells.values() and set(cells.values()) <= {MISSING, SKIPPED, NOT_APPLICABLE, ""}]
        shown = {name: cells for name, cells in table.items() if name not in missing}
        lines = []
        # A column no shown row has (trajectory, when no optimizer was checked) is left out.
        checks = [check for check in checks if any(cells[check] for cells in shown.values())]
        if shown:
            width = max(len("layer"), *(len(name) for name in shown))
            columns = {check: max(len(check), *(len(cells[check]) for cells in shown.values())) for check in checks}
            lines.append(f"{'layer':<{width}}  " + "  ".join(f"{check:<{columns[check]}}" for check in checks).rstrip())
            for name, cells in shown.items():
                lines.append((f"{name:<{width}}  " + "  ".join(f"{cells[check]:<{columns[check]}}" for check in checks)).rstrip())
        if missing:
            lines.append(f"{NOT_IMPLEMENTED}: {', '.join(missing)}")
        reasons = {(feature, why): name for name in shown for feature, why in left_out.get(name, {}).items()}
        for (feature, why), name in reasons.items():  # once per pair of rows that share an entry
            lines.append(f"{name} without {feature}: {why}")
        return lines

    def advisories(self, rows: list[Row], checks) -> list[tuple[str, str, str]]:
        """``(row, check, note)`` for every distinct advisory note."""
        found = []
        for name, keys in self.rows_seen(rows):
            for check in checks:
                cell = self.cell(keys, check)
                notes = {note for notes in cell.advisories for note in notes} if cell else set()
                found += [(name, check, note) for note in sorted(notes)]
        return found

    @staticmethod
    def row_of(rows: list[Row], key: str, check: str) -> str:
        """The row that shows ``key``'s ``check`` (a course function's name, or the layer)."""
        return next((name for name, keys in rows if keys.get(check) == key), key)

    def write_json(self, path: str, label: str, rows: list[Row], checks, left_out: dict[str, dict[str, str]], notes: dict) -> None:
        """The report; ``notes``: ``nothing_checked`` (why, when nothing was), ``style`` and
        ``conventions`` (what a course adapter applied), ``outside_the_course`` (the optional
        features a course function's course does not have), ``loading`` (a notebook's cells)."""
        seen = self.rows_seen(rows)
        layers = {}
        for name, keys in seen:
            cells = {check: self.cell(keys, check) for check in checks if check in keys}
            layers[name] = {
                check: NOT_APPLICABLE if keys[check] == NOT_APPLICABLE_CELL else SKIPPED if cell is None else cell.verdict
                for check, cell in cells.items()
            }
        report = {
            "implementation": label,
            "checked": self.checked_anything,
            **notes,
            "table": self.render(rows, checks, left_out),  # the lines printed at the end of the run
            "layers": layers,
            "left_out": {name: reasons for name, reasons in left_out.items() if reasons and name in layers},
            "advisories": [
                {"layer": name, "check": check, "note": note, "example": self.examples.get((dict(seen)[name][check], check, note), "")}
                for name, check, note in self.advisories(rows, checks)
            ],
            "failures": [{**vars(failure), "layer": self.row_of(rows, failure.layer, failure.check)} for failure in self.failures],
        }
        with open(path, "w") as handle:
            json.dump(report, handle, indent=2)
