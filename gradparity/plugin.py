"""gradparity's pytest plug-in: the implementation under test, hypothesis profiles,
devices, and the per-layer summary table printed at the end of a run.

Installing gradparity registers this module through the ``pytest11`` entry point, so
every pytest run in that environment knows ``--impl`` and the other options; the checks
themselves run only when collected (``pytest --pyargs gradparity``, or inside the
checkout). This module therefore imports nothing heavy: torch, the registry and the
implementation are loaded when a run needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import InvalidArgument

from .implementation import REFERENCE, Implementation, ImplementationError, load, resolve
from .summary import CHECKS, IMPL_ITEM, SKIPPED_BY_USER, Summary

# ------------------------------------------------------------------ hypothesis profiles
# Chosen with hypothesis's own option: --hypothesis-profile=ci (or thorough). They apply
# to gradparity's checks only, through ``check_settings``: a user's own hypothesis tests
# keep their settings, and hypothesis's built-in "ci" profile (loaded when $CI is set) is
# not replaced. Each name is registered with hypothesis only if it is new, so that the
# option accepts it.
# No explain phase: its "lines always and only run by failing examples" point into the
# suite and PyTorch, not into the learner's code; the message's call line says more.
_PHASES = [phase for phase in Phase if phase is not Phase.explain]
# One failure reported, not an ExceptionGroup of "distinct failures": a learner fixes one
# thing at a time, and the first line of the message must say what.
_BASE = settings(
    settings.get_profile("default"), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    phases=_PHASES, report_multiple_bugs=False,
)
PROFILES = {
    "learner": settings(_BASE, max_examples=20),
    "ci": settings(_BASE, max_examples=30, derandomize=True, print_blob=True, database=None),
    "thorough": settings(_BASE, max_examples=300),
    # For the known-bug self-test: fixed seed, few examples, no shrinking (a verdict, fast).
    "selftest": settings(_BASE, max_examples=100, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate]),
}
# The ci profile's very examples without shrinking: the self-test's proof that ci catches a bug.
PROFILES["ci-noshrink"] = settings(PROFILES["ci"], phases=[Phase.explicit, Phase.generate])
for _name, _profile_settings in PROFILES.items():
    try:
        settings.get_profile(_name)
    except InvalidArgument:
        settings.register_profile(_name, _profile_settings)
DEFAULT_PROFILE = "learner"
_profile = DEFAULT_PROFILE

DEVICES = ("cpu", "cuda")


def check_settings(test):
    """Decorate a check with the chosen profile (``--hypothesis-profile``; without it
    ``learner``, or ``ci`` where hypothesis itself loaded its ci profile because $CI is
    set). The ``contract`` fixture is shared by a check's examples on purpose: it collects
    the item's advisory notes."""
    profile = PROFILES.get(_profile) or settings.get_profile(_profile)
    return settings(profile, suppress_health_check=[*profile.suppress_health_check, HealthCheck.function_scoped_fixture])(test)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradparity")
    group.addoption(
        "--impl", action="append", metavar="PATH_OR_MODULE",
        help="implementation under test: a .py file or a module name (default: reference); repeat it to merge several files",
    )
    group.addoption("--impl-strict", action="store_true", help="fail, instead of skip, what the implementation does not define, and draw every optional feature")
    group.addoption("--full-api", action="store_true", help="draw every optional feature of every layer (pairs, dilation, groups, ...), supported or not")
    group.addoption("--check-contract", action="store_true", help="fail on undocumented bad-input errors and on RuntimeWarnings too (always on for the reference)")
    group.addoption("--layer", action="append", metavar="NAME", help="check only this layer (repeatable), e.g. --layer conv2d")
    group.addoption(
        "--check-only", action="append", metavar="CHECK", choices=CHECKS,
        help=f"run only this check, a column of the table (repeatable): {', '.join(CHECKS)}",
    )
    group.addoption(
        "--impl-style", default="auto", choices=("auto", "spec", "dls", "cs231n"),
        help="the conventions the implementation follows: the API's (spec), the Deep Learning Specialization's (dls), CS231n's; auto: detect",
    )
    group.addoption("--gradparity-json", metavar="PATH", help="also write the summary (verdicts, left-out features, advisories, failures) as JSON")
    group.addoption("--skips-file", metavar="PATH", help="skip what it lists: one 'layer' or 'layer::check' a line, '#' comments")
    group.addoption("--xfails-file", metavar="PATH", help="expect failures in what it lists (same format): an unfinished layer does not fail the run")


class Run:
    """What the plug-in knows about one pytest run, and the hooks that use it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        given = config.getoption("--impl")
        self.explicit = bool(given)
        workerinput = getattr(config, "workerinput", None)
        # Paths are resolved where pytest was started; xdist workers get the controller's.
        self.base = Path(workerinput["gradparity_base"]) if workerinput and "gradparity_base" in workerinput else config.invocation_params.dir
        self.specs = [resolve(spec, self.base) for spec in given] if given else [REFERENCE]
        self.names = list(given) if given else [REFERENCE]  # as the user wrote them, for messages
        self.label = ", ".join(self.names)
        self.is_controller = workerinput is None  # with xdist, the controller reports
        self.summary = Summary()
        self.nothing_checked: str | None = None
        self._impl: Implementation | None = None
        # Checked now, before any test: a wrong --layer or list line is a usage error.
        self.layers = config.getoption("--layer")
        if self.layers:
            known = self.known_names()
            unknown = set(self.layers) - set(known)
            if unknown:
                raise pytest.UsageError(f"--layer {', '.join(sorted(unknown))}: unknown layer; known: {', '.join(known)}")
        self.checks = config.getoption("--check-only")
        self.skips, self.xfails = (read_listing(config.getoption(option), self.known_names) for option in ("--skips-file", "--xfails-file"))

    def known_names(self) -> list[str]:
        """The rows a --layer, a skips file or an xfails file may name."""
        return [name for name, _ in self.rows()]

    def rows(self):
        return self.impl.rows(CHECKS)

    def selected(self, entry_name: str, check: str) -> bool:
        """Whether --layer keeps the cell ``(entry_name, check)``."""
        return not self.layers or any(keys.get(check) == entry_name for name, keys in self.rows() if name in self.layers)

    def listed(self, listing: Listing, entry_name: str, check: str) -> str | None:
        """The line of a skips or xfails file naming the cell ``(entry_name, check)``."""
        return next((line for name, keys in self.rows() if keys.get(check) == entry_name and (line := listing.get((name, check)))), None)

    @property
    def impl(self) -> Implementation:
        if self._impl is None:
            try:
                module = load(self.specs, self.names, self.base)
            except ImplementationError as error:
                raise pytest.UsageError(str(error)) from error
            option = self.config.getoption
            self._impl = Implementation(
                module, self.label, strict=option("--impl-strict"), full_api=option("--full-api"), contract=option("--check-contract"),
                style=option("--impl-style"),
            )
        return self._impl

    def notes(self) -> dict:
        """What the report says beside the table: the style, the adapter's conventions, a
        notebook's loading, and why nothing was checked."""
        impl = self.impl
        return {
            "style": impl.style,
            "style_reason": impl.style_reason,
            "conventions": impl.conventions(),
            "loading": impl.loading_notes(),
            "nothing_checked": self.nothing_checked,
        }

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        nothing_defined = self.explicit and not self.impl.defines_anything()
        kept: list[pytest.Item] = []
        deselected: list[pytest.Item] = []
        for item in items:
            uses_impl = "impl" in getattr(item, "fixturenames", ())
            if uses_impl:
                item.user_properties.append(IMPL_ITEM)
            marker, layer = item.get_closest_marker("check"), _subject(item)
            if marker is not None and layer is not None:
                check = marker.args[0]
                item.user_properties += [("layer", layer), ("check", check)]
                if skip_line := self.listed(self.skips, layer, check):
                    item.add_marker(pytest.mark.skip(reason=f"{SKIPPED_BY_USER}: {skip_line}"))
                elif xfail_line := self.listed(self.xfails, layer, check):
                    item.add_marker(pytest.mark.xfail(reason=f"expected to fail: {xfail_line}", strict=False))
            # --layer keeps that layer's checks only (tests of the suite itself have no layer);
            # an implementation that defines nothing of the API has nothing to run.
            if self.layers and layer is not None and marker is not None:
                dropped = not self.selected(layer, marker.args[0])
            else:
                dropped = bool(self.layers) and layer not in self.layers
            # --check-only keeps those columns only.
            dropped = dropped or bool(self.checks and marker is not None and marker.args[0] not in self.checks)
            # A course's rows leave some cells out (the forward of a second backward): not run.
            hidden = layer is not None and marker is not None and self.impl.is_course and not self.impl.shows(layer, marker.args[0])
            dropped = dropped or hidden or (nothing_defined and uses_impl)
            (deselected if dropped else kept).append(item)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = kept

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.summary.record(report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Nothing checked is not a pass: a run whose checks all skipped, or one given
        --impl that collected none, exits 5 and says what the implementation defines."""
        if not self.is_controller:
            return
        summary = self.summary
        quiet = session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) and not summary.checked_anything
        if quiet and (summary.cells or (self.explicit and not summary.impl_items)):
            if summary.cells or not self.impl.defines_anything():
                self.nothing_checked = self.impl.nothing_to_check_message()
            else:
                self.nothing_checked = (
                    "nothing was checked: no gradparity check was collected. Run the installed checks with "
                    "`pytest --pyargs gradparity --impl PATH`, or `gradparity check PATH`."
                )
            session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
        path = self.config.getoption("--gradparity-json")
        if path:
            rows = self.rows() if summary.cells else []
            # What the course itself lacks (dilation, ...): not the learner's to add, so not in the table.
            outside = self.impl.course_left_out_by_row(summary.rows_seen(rows))
            notes = {**self.notes(), "outside_the_course": {name: why for name, why in outside.items() if why}}
            summary.write_json(path, self.label, rows, CHECKS, self.impl.left_out_by_row(rows), notes)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.is_controller:
            return
        if self.summary.cells:
            rows = self.rows()
            terminalreporter.section(f"gradparity: {self.label}")
            if self.impl.is_course:
                terminalreporter.write_line(f"style {self.impl.style}: {self.impl.style_reason}")
            for line in self.summary.render(rows, CHECKS, self.impl.left_out_by_row(rows)):
                terminalreporter.write_line(line)
            for note in (*self.impl.conventions(), *self.impl.loading_notes()):
                terminalreporter.write_line(f"note: {note}")
            for layer, check, note in self.summary.advisories(rows, CHECKS):
                terminalreporter.write_line(f"advisory, {layer} {check}: {note} (fails only with --check-contract)")
        if self.nothing_checked:
            terminalreporter.section("gradparity: nothing checked", red=True)
            terminalreporter.write_line(self.nothing_checked)


class Listing(dict):
    """``(layer, check) -> 'FILE:LINE'`` for the lines of a skips or xfails file; a line
    naming a layer alone stands for each of its checks."""

    def get(self, key, default=None):  # type: ignore[override]
        return super().get(key) or super().get((key[0], None), default)


def read_listing(path: str | None, known: Callable[[], list[str]]) -> Listing:
    """Read a skips or xfails file: one ``layer`` or ``layer::check`` a line, ``#`` comments;
    ``known()``: the names a line may give (asked only when there is a file)."""
    listing = Listing()
    if path is None:
        return listing
    known_layers, known_checks = set(known()), set(CHECKS)
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as error:
        raise pytest.UsageError(f"{path}: cannot read it ({error.strerror})") from error
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        layer, _, check = text.partition("::")
        if layer not in known_layers or (check and check not in known_checks):
            raise pytest.UsageError(f"{path}:{number}: {text!r} is not 'layer' or 'layer::check' (checks: {', '.join(CHECKS)}; `gradparity list` for the layers)")
        listing[layer, check or None] = f"{path}:{number}"
    return listing


def _subject(item: pytest.Item) -> str | None:
    """The layer (registry entry) or model (case) a check is parametrized by."""
    callspec = getattr(item, "callspec", None)
    subject = callspec.params.get("entry", callspec.params.get("case")) if callspec is not None else None
    return subject.name if subject is not None else None


_RUN = pytest.StashKey[Run]()
_current_run: Run | None = None  # the run whose checks are being collected (one per process)


def checked_entries() -> tuple:
    """The registry entries the checks are parametrized by: the API's, or, for a course's
    implementation, its style's bindings' (collected after ``pytest_configure``)."""
    if _current_run is None:  # imported outside a pytest run
        from .registry import REGISTRY

        return REGISTRY
    return _current_run.impl.entries()


def checked_optimizers() -> tuple:
    """The optimizer entries the trajectory checks are parametrized by (as ``checked_entries``)."""
    if _current_run is None:
        from .optimizers import ENTRIES

        return ENTRIES
    return _current_run.impl.optimizer_entries()


def _run(config: pytest.Config) -> Run:
    return config.stash[_RUN]


def pytest_configure(config: pytest.Config) -> None:
    global _profile, _current_run
    config.addinivalue_line("markers", "check(name): which column of the summary table a test fills")
    in_ci = settings.get_current_profile_name() == "ci"  # hypothesis loads it when $CI is set
    _profile = config.getoption("hypothesis_profile", None) or ("ci" if in_ci else DEFAULT_PROFILE)
    run = _current_run = config.stash[_RUN] = Run(config)
    config.pluginmanager.register(run, "gradparity-run")
    if run.explicit:
        run.impl  # noqa: B018 -- load it now: a bad --impl is a usage error, before any test


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist: workers resolve --impl against the controller's folder (theirs may differ)."""
    node.workerinput["gradparity_base"] = str(_run(node.config).base)


@pytest.fixture(scope="session")
def impl(pytestconfig: pytest.Config) -> Implementation:
    return _run(pytestconfig).impl


@pytest.fixture
def contract(impl: Implementation, request: pytest.FixtureRequest):
    from .contract import Contract

    return Contract(impl.contract, request.node)


@pytest.fixture
def tally(request: pytest.FixtureRequest):
    from .contract import Tally

    return Tally(request.node)


@pytest.fixture(scope="session", params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    import torch

    if request.param == "cuda":
        if not torch.cuda.is_available():
            pytest.skip("CUDA is not available: the PyTorch side runs on the CPU only")
        # Parity means the same arithmetic: no TF32 shortcuts in matmuls and convolutions.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return request.param
