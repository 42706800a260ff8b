"""gradparity's pytest plug-in: the implementation under test, hypothesis profiles,
devices, and the per-layer summary table printed at the end of a run."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, Phase, settings

from tests.implementation import Implementation, load
from tests.model_cases import BY_NAME as MODEL_CASES
from tests.registry import CHECKS, LAYER_NAMES
from tests.summary import Summary

# ------------------------------------------------------------------ hypothesis profiles
# Chosen with hypothesis's own option: --hypothesis-profile=ci (or thorough).
_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("learner", max_examples=20, **_COMMON)
settings.register_profile("ci", max_examples=30, derandomize=True, print_blob=True, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=300, **_COMMON)
# For the known-bug self-test: fixed seed, few examples, no shrinking (a verdict, fast).
settings.register_profile(
    "selftest", max_examples=100, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate], **_COMMON
)
settings.load_profile("learner")  # the default; --hypothesis-profile overrides it

# Parity means the same arithmetic: no TF32 shortcuts in CUDA matmuls and convolutions.
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

DEVICES = ("cpu", "cuda")
_summary = Summary()
MODEL_NAMES = tuple(MODEL_CASES)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradparity")
    group.addoption("--impl", default="reference", help="implementation under test: a module name or a path to a .py file (default: reference)")
    group.addoption("--impl-strict", action="store_true", help="fail, instead of skip, the checks of layers the implementation does not define")
    group.addoption("--layer", action="append", metavar="NAME", help="check only this layer (repeatable), e.g. --layer conv2d")
    group.addoption("--gradparity-json", metavar="PATH", help="also write the summary table (layer -> check -> verdict) as JSON")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "check(name): which column of the summary table a test fills")
    spec = config.getoption("--impl")
    config._gradparity_impl = Implementation(load(spec), spec, config.getoption("--impl-strict"))  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def impl(pytestconfig: pytest.Config) -> Implementation:
    return pytestconfig._gradparity_impl  # type: ignore[attr-defined]


@pytest.fixture(scope="session", params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA is not available: the PyTorch side runs on the CPU only")
    return request.param


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("--layer")
    if wanted:
        unknown = set(wanted) - set(LAYER_NAMES) - set(MODEL_NAMES)
        if unknown:
            raise pytest.UsageError(f"--layer {', '.join(sorted(unknown))}: unknown layer; known: {', '.join((*LAYER_NAMES, *MODEL_NAMES))}")
    kept, deselected = [], []
    for item in items:
        marker = item.get_closest_marker("check")
        callspec = getattr(item, "callspec", None)
        # A layer's checks are parametrized by its registry entry, a model's by its case.
        subject = callspec.params.get("entry", callspec.params.get("case")) if callspec is not None else None
        layer = subject.name if subject is not None else None
        if marker is not None and layer is not None:
            item.user_properties += [("layer", layer), ("check", marker.args[0])]
        # --layer keeps that layer's checks only (tests of the suite itself have no layer).
        (deselected if wanted and layer not in wanted else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _summary.record(report)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller prints the table
        return
    lines = _summary.render((*LAYER_NAMES, *MODEL_NAMES), CHECKS)
    if lines:
        terminalreporter.section(f"gradparity: {config.getoption('--impl')}")
        for line in lines:
            terminalreporter.write_line(line)
    path = config.getoption("--gradparity-json")
    if path:
        _summary.write_json(path, (*LAYER_NAMES, *MODEL_NAMES), CHECKS)
