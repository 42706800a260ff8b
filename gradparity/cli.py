"""The ``gradparity`` command: check an implementation from any folder, or list the API.

    gradparity check my_layers.py [rnn_layers.py ...] [--layer conv2d] [-n auto]
    gradparity list

``check`` runs the packaged checks with pytest in a child process (so that a learner's
module, its imports and its warnings cannot disturb the report) and prints what a learner
needs: the per-layer table, one line per failure, and the advisory notes. It exits 0 only
when at least one layer was checked and every checked layer passed; 1 on a mismatch; 5
when nothing was checked; 2 when the implementation cannot be loaded or the run breaks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from . import __version__, api
from .summary import CHECKS

PROFILES = ("learner", "ci", "thorough")
PACKAGE_DIR = Path(__file__).resolve().parent
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradparity", description="Check NumPy deep-learning layers written from scratch against PyTorch.")
    parser.add_argument("--version", action="version", version=f"gradparity {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{check,list}")

    check = commands.add_parser("check", help="check an implementation (a .py file or a module) against PyTorch")
    check.add_argument("impl", nargs="+", metavar="FILE_OR_MODULE", help="your layers: .py files (merged in order) or importable module names")
    check.add_argument("--layer", action="append", metavar="NAME", help="check only this layer (repeatable)")
    check.add_argument(
        "--check-only", action="append", choices=CHECKS, metavar="CHECK", help=f"run only this check (repeatable): {', '.join(CHECKS)}",
    )
    # One process by default: on 2 cores, -n auto measured no faster on a complete
    # implementation (31.9 s against 31.3 s) and 3-5 s slower on one layer (workers start).
    check.add_argument("-n", dest="workers", metavar="N|auto", help="run the checks in N processes (auto: one per core; default: one process)")
    check.add_argument("--profile", choices=PROFILES, default="learner", help="examples per property: learner 20 (default), ci 30 derandomized, thorough 300")
    check.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    check.add_argument(
        "--style", choices=("auto", "spec", "dls", "cs231n"), default="auto",
        help="the conventions your code follows: the API's (spec), the Deep Learning Specialization's (dls), CS231n's; auto: detect",
    )
    check.add_argument("--strict", action="store_true", help="fail what is not implemented, and require every optional feature")
    check.add_argument("--full-api", action="store_true", help="require every optional feature (pairs, dilation, groups, ...)")
    check.add_argument("--check-contract", action="store_true", help="fail on undocumented bad-input errors and RuntimeWarnings too")
    check.add_argument("--skips-file", metavar="PATH", help="skip what it lists: one 'layer' or 'layer::check' a line, '#' comments")
    check.add_argument("--xfails-file", metavar="PATH", help="expect failures in what it lists (same format): unfinished layers")
    check.add_argument("-v", "--verbose", action="store_true", help="print the full failure messages")

    commands.add_parser("list", help="list every layer of the API with its signatures")
    return parser


# --------------------------------------------------------------------------------- list


def list_api() -> int:
    from .registry import BY_NAME

    print("Every layer is a pair: NAME_forward(...) -> (outputs..., cache) and NAME_backward(d_outputs..., cache).")
    print("Define the ones you have written in your module; the others are reported 'not implemented'.\n")
    for layer in api.layer_names():
        entry = BY_NAME.get(layer)
        forward, backward = f"{layer}_forward", f"{layer}_backward"
        outputs = ", ".join((*entry.outputs, "cache")) if entry else "out, cache"
        grads = [f"d{name}" for name in entry.gradient_args] if entry else ["gradients"]
        print(f"{layer}")
        print(f"  {forward}{api.signature(forward)} -> ({outputs})")
        print(f"  {backward}{api.signature(backward)} -> {grads[0] if len(grads) == 1 else '(' + ', '.join(grads) + ')'}")
        if entry and entry.features:
            print(f"  optional: {', '.join(feature.name for feature in entry.features)}")
    print("\nEvery optimizer is one step: NAME_step(params, grads, state, options...) -> (new_params, new_state).\n")
    for name in api.optimizer_names():
        print(name)
        print(f"  {name}_step{api.signature(f'{name}_step')} -> (new_params, new_state)")
    return 0


# -------------------------------------------------------------------------------- check


def _pytest_command(args: argparse.Namespace, ini: Path, report: Path) -> list[str]:
    command = [sys.executable, "-m", "pytest", "-p", "gradparity.plugin", "--pyargs", "gradparity"]
    for spec in args.impl:
        command += ["--impl", spec]
    for layer in args.layer or []:
        command += ["--layer", layer]
    for check in args.check_only or []:
        command += ["--check-only", check]
    if args.workers:
        command += ["-n", args.workers]
    # An empty ini of our own: the learner's pytest settings (addopts, filterwarnings) do
    # not apply to these checks; -q and no tracebacks, since the report is read from JSON.
    command += ["-c", str(ini), "--rootdir", str(ini.parent), "-p", "no:cacheprovider", "-p", "no:benchmark", "-q", "--tb=no", "--no-header"]
    command += [f"--hypothesis-profile={args.profile}", "--gradparity-json", str(report), "--impl-style", args.style]
    command += [flag for flag, on in (("--impl-strict", args.strict), ("--full-api", args.full_api), ("--check-contract", args.check_contract)) if on]
    for option, path in (("--skips-file", args.skips_file), ("--xfails-file", args.xfails_file)):
        if path:
            command += [option, str(Path(path).resolve())]
    return command


def _first_line(message: str, layer: str = "") -> str:
    """The message's first line, without the layer's name the table already gives."""
    line = message.strip().splitlines()[0] if message.strip() else "(no message)"
    return line.removeprefix(f"{layer}: ") if layer else line


def _detail(message: str) -> list[str]:
    """The message's lines after the first, up to hypothesis's own report of the example
    (the ``call:`` line already says everything needed to reproduce it)."""
    lines = message.strip().splitlines()[1:]
    end = next((i for i, line in enumerate(lines) if line.startswith("Falsifying example")), len(lines))
    return [line.strip() for line in lines[:end] if line.strip()]


def _print_report(report: dict, verbose: bool) -> None:
    if report["table"]:
        print(f"gradparity: {report['implementation']}")
        if report.get("style", "spec") != "spec":
            print(f"style {report['style']}: {report['style_reason']}")
    for line in report["table"]:
        print(line)
    for note in (*report.get("conventions", []), *report.get("loading", [])):
        print(f"note: {note}")
    if verbose:  # what a course function's course does not have: not drawn, and not the learner's to add
        for row, features in report.get("outside_the_course", {}).items():
            for feature, why in features.items():
                print(f"not in the course: {row} without {feature}: {why}")
    # One failure per cell (-v: per distinct message): the same bug fails each drawn case of a check.
    failures: dict[tuple[str, ...], list[dict]] = {}
    for failure in report["failures"]:
        key = (failure["layer"], failure["check"]) + ((_first_line(failure["message"]),) if verbose else ())
        failures.setdefault(key, []).append(failure)
    if failures:
        count = len(report["failures"])
        print(f"\n{count} failure{'s' if count > 1 else ''}" + (f", {len(failures)} shown:" if len(failures) < count else ":"))
        for failure, *alike in failures.values():
            where = failure["where"]
            outside = where and not Path(where.rsplit(":", 1)[0]).resolve().is_relative_to(PACKAGE_DIR)
            location = f" ({where})" if outside else ""
            more = f" (and {len(alike)} more in this check)" if alike else ""
            print(f"  {failure['layer']} {failure['check']}: {_first_line(failure['message'], failure['layer'])}{location}{more}")
            if verbose:
                for line in _detail(failure["message"]):
                    print(f"      {line}")
        if not verbose:
            print("Run with -v for the full messages (the call, the worst element, the tolerance and a hint).")
    if report["advisories"]:
        print("\nAdvisory (fails only with --check-contract):")
        grouped: dict[tuple[str, str], list[dict]] = {}  # a forward's warning shows in every check that runs it
        for note in report["advisories"]:
            grouped.setdefault((note["layer"], note["note"]), []).append(note)
        for (layer, text), notes in grouped.items():
            print(f"  {layer} {', '.join(note['check'] for note in notes)}: {text}")
            example = notes[0]["example"]
            if verbose and example:
                print(f"      e.g. {_first_line(example, layer)}")
                for line in _detail(example):
                    print(f"      {line}")


def check(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="gradparity-") as scratch:
        ini, report_path = Path(scratch) / "pytest.ini", Path(scratch) / "report.json"
        ini.write_text("[pytest]\n")
        done = subprocess.run(_pytest_command(args, ini, report_path), capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        report = json.loads(report_path.read_text()) if report_path.exists() else None
    if report is None or done.returncode not in (0, 1, 5):
        # A usage error (an --impl that cannot be loaded, an unknown --layer) or a broken run.
        output = (done.stdout + done.stderr).strip()
        errors = [line.removeprefix("ERROR: ") for line in output.splitlines() if line.startswith("ERROR: ")]
        print("gradparity: " + ("\n".join(errors) if errors else f"the run failed (pytest exit {done.returncode}):\n{output[-4000:]}"), file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    _print_report(report, args.verbose)
    if done.returncode == 1 and not report["failures"]:  # a failure outside the layers' checks
        print(f"\nthe run failed outside the layer checks:\n{(done.stdout + done.stderr).strip()[-4000:]}", file=sys.stderr)
    if report["nothing_checked"]:
        print(f"\n{report['nothing_checked']}", file=sys.stderr)
        return 5
    return 1 if done.returncode == 1 or report["failures"] else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return list_api() if args.command == "list" else check(args)
    except BrokenPipeError:  # `gradparity list | head`: the reader has gone, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
