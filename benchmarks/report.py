"""Turn a pytest-benchmark JSON file into a table of medians and ratios, and a bar chart.

    pytest --benchmark-only --benchmark-json=results.json
    python -m benchmarks.report results.json --png results.png

The table (Markdown) has one row per workload and one column per backend: the median
time and, in parentheses, its ratio to torch-cpu measured in the same run (2.0x: twice as
slow as PyTorch on the CPU). The chart shows the same ratios, log scale.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

# The backends, in the table's order: the one list (backends.py runs them; this module
# stays free of torch, so a report can be made anywhere).
BACKENDS = ("numpy", "torch-cpu", "torch-cpu-bf16", "torch-cuda", "torch-cuda-amp")


def load_medians(path: Path) -> dict[str, dict[str, float]]:
    """``{workload: {backend: median seconds}}`` from a ``--benchmark-json`` file."""
    data = json.loads(Path(path).read_text())
    medians: dict[str, dict[str, float]] = defaultdict(dict)
    for bench in data.get("benchmarks", []):
        info = bench.get("extra_info", {})
        workload, backend = info.get("workload", bench.get("group")), info.get("backend")
        if workload is None or backend is None:
            raise ValueError(f"report: argument 'path' has a benchmark without workload/backend extra_info: {bench.get('name')}")
        medians[workload][backend] = bench["stats"]["median"]
    if not medians:
        raise ValueError(f"report: argument 'path' holds no benchmarks: {path}")
    return dict(medians)


def ratios(medians: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each backend's median over torch-cpu's, per workload that has torch-cpu."""
    return {
        workload: {backend: time / by_backend["torch-cpu"] for backend, time in by_backend.items()}
        for workload, by_backend in medians.items()
        if "torch-cpu" in by_backend
    }


def _format_time(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def markdown_table(medians: dict[str, dict[str, float]]) -> str:
    backends = [b for b in BACKENDS if any(b in row for row in medians.values())]
    relative = ratios(medians)
    lines = ["| workload | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]
    for workload, by_backend in medians.items():
        cells = []
        for backend in backends:
            if backend not in by_backend:
                cells.append("-")
                continue
            ratio = relative.get(workload, {}).get(backend)
            cells.append(_format_time(by_backend[backend]) + (f" ({ratio:.2f}x)" if ratio is not None else ""))
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bar_chart(medians: dict[str, dict[str, float]], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    relative = ratios(medians)
    workloads = list(relative)
    backends = [b for b in BACKENDS if any(b in row for row in relative.values())]
    height = 0.8 / max(len(backends), 1)
    figure, axes = plt.subplots(figsize=(9, 0.5 + 0.45 * len(workloads) * max(len(backends), 1) ** 0.5))
    for index, backend in enumerate(backends):
        values = [relative[w].get(backend, float("nan")) for w in workloads]
        axes.barh([i + index * height for i in range(len(workloads))], values, height=height, label=backend)
    axes.set_yticks([i + height * (len(backends) - 1) / 2 for i in range(len(workloads))], workloads)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_xlabel("median time / torch-cpu median (log scale; < 1 is faster)")
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    figure.savefig(png, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="a pytest --benchmark-json file")
    parser.add_argument("--png", type=Path, help="also draw the ratios as a bar chart in this PNG file")
    args = parser.parse_args(argv)
    try:
        medians = load_medians(args.path)
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(markdown_table(medians))
    if args.png:
        bar_chart(medians, args.png)
        print(f"\nchart: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
