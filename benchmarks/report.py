"""Turn a pytest-benchmark JSON file into tables and charts, or compare two of them.

    pytest --benchmark-only --benchmark-json=results.json
    python -m benchmarks.report results.json --png results.png
    python -m benchmarks.report --compare before.json after.json

The report starts with the machine the numbers were measured on (recorded at benchmark
time: CPU, cores, NumPy's BLAS and its threads, PyTorch's version and threads). The table
(Markdown) has one row per workload and one column per backend: the median time and, in
parentheses, its ratio to torch-cpu measured in the same run (2.00x: twice as slow as
PyTorch on the CPU), then the peak memory one iteration allocates and its ratio to
torch-cpu's. The chart shows both ratios, log scale, one panel each.

A run of the scaling sweep (``-m scaling``) adds a table of how each layer's time grows
with each dimension (the exponent of a power-law fit) and a chart: time against the swept
dimension, log-log, one panel per layer and dimension, with the ratio below it; drawn to
``--scaling-png``, or beside ``--png`` (``results-scaling.png``).

``--compare OLD NEW`` shows a change's effect: per workload and backend, the old and new
median (and peak memory) and the change factor, new / old (< 1: faster, or less memory).

This module imports no torch: a report can be made on any machine.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

# The backends, in the table's order: the one list (backends.py runs them; this module
# stays free of torch, so a report can be made anywhere).
BACKENDS = ("numpy", "torch-cpu", "torch-cpu-bf16", "torch-cuda", "torch-cuda-amp")
BASELINE = "torch-cpu"
DIMENSION_LABELS = {"batch": "batch", "image": "image size (pixels a side)", "channels": "channels", "sequence": "sequence length"}


@dataclass(frozen=True)
class Measurement:
    median: float  # seconds
    peak_bytes: int | None = None


@dataclass(frozen=True)
class ScalingPoint:
    layer: str
    dimension: str
    value: float
    work: float
    work_unit: str


@dataclass
class Results:
    """One ``--benchmark-json`` file: the workloads' measurements, the sweep's, the machine."""

    workloads: dict[str, dict[str, Measurement]] = field(default_factory=dict)
    scaling: dict[ScalingPoint, dict[str, Measurement]] = field(default_factory=dict)
    machine: dict = field(default_factory=dict)

    def medians(self) -> dict[str, dict[str, float]]:
        return {workload: {backend: m.median for backend, m in row.items()} for workload, row in self.workloads.items()}


def load(path: Path) -> Results:
    data = json.loads(Path(path).read_text())
    results = Results(machine=data.get("machine_info", {}))
    for bench in data.get("benchmarks", []):
        info = bench.get("extra_info", {})
        workload, backend = info.get("workload", bench.get("group")), info.get("backend")
        if workload is None or backend is None:
            raise ValueError(f"report: argument 'path' has a benchmark without workload/backend extra_info: {bench.get('name')}")
        measurement = Measurement(bench["stats"]["median"], info.get("peak_bytes"))
        if "scaling" in info:
            where = info["scaling"]
            point = ScalingPoint(where["layer"], where["dimension"], where["value"], where["work"], where.get("work_unit", ""))
            results.scaling.setdefault(point, {})[backend] = measurement
        else:
            results.workloads.setdefault(workload, {})[backend] = measurement
    if not results.workloads and not results.scaling:
        raise ValueError(f"report: argument 'path' holds no benchmarks: {path}")
    return results


def load_medians(path: Path) -> dict[str, dict[str, float]]:
    """``{workload: {backend: median seconds}}`` from a ``--benchmark-json`` file."""
    return load(path).medians()


def ratios(medians: dict[str, dict[str, float | None]]) -> dict[str, dict[str, float]]:
    """Each backend's value over torch-cpu's, per workload where torch-cpu's is known and not 0."""
    return {
        workload: {backend: value / by_backend[BASELINE] for backend, value in by_backend.items() if value is not None}
        for workload, by_backend in medians.items()
        if by_backend.get(BASELINE)
    }


def peaks(results: Results) -> dict[str, dict[str, int | None]]:
    return {workload: {backend: m.peak_bytes for backend, m in row.items()} for workload, row in results.workloads.items()}


# ------------------------------------------------------------------------ formatting


def format_time(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def format_bytes(count: float) -> str:
    """Decimal units (1 MB = 10**6 bytes), three significant digits."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count:.0f} B"


def format_factor(factor: float | None) -> str:
    return "-" if factor is None else f"{factor:.2f}x"


def _pool_text(pool: dict) -> str:
    names = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS", "flexiblas": "FlexiBLAS", "openmp": "OpenMP"}
    name = names.get(pool.get("internal_api", ""), pool.get("internal_api", "?"))
    details = [detail for detail in (pool.get("architecture"), pool.get("threading_layer"), pool.get("file")) if detail]
    version = f" {pool['version']}" if pool.get("version") else ""
    return f"{name}{version} ({', '.join(details)}), {pool.get('num_threads', '?')} threads"


def machine_lines(machine_info: dict, with_run_conditions: bool = True) -> list[str]:
    """What the numbers were measured on, as Markdown list items; from our record
    (benchmarks/machine.py) or, in an older file, from pytest-benchmark's own fields; and,
    unless told not to, how busy other processes kept the machine during the run."""
    ours = machine_info.get("gradparity")
    if not ours:
        cpu = machine_info.get("cpu", {})
        brand, count = cpu.get("brand_raw") or machine_info.get("processor") or "unknown CPU", cpu.get("count")
        lines = [f"- CPU: {brand}" + (f", {count} cores" if count else "")]
        if machine_info.get("python_version"):
            lines.append(f"- Python {machine_info['python_version']} (no library details: recorded before benchmarks/machine.py)")
        return lines
    cores = f"{ours.get('cpu_count')} cores"
    if ours.get("usable_cores") not in (None, ours.get("cpu_count")):
        cores += f" ({ours['usable_cores']} usable by the run)"
    pools = ours.get("thread_pools", [])
    blas = [_pool_text(pool) for pool in pools if pool.get("user_api") == "blas"] or ["none found"]
    openmp = [_pool_text(pool) for pool in pools if pool.get("user_api") == "openmp"]
    torch = f"- PyTorch {ours.get('torch')}: {ours.get('torch_threads')} intra-op threads" + (f" ({'; '.join(openmp)})" if openmp else "")
    lines = [
        f"- CPU: {ours.get('cpu_model')}, {cores}",
        f"- BLAS: {'; '.join(blas)}",
        torch,
        f"- NumPy {ours.get('numpy')}; Python {ours.get('python')}",
    ]
    if ours.get("cuda_device"):
        lines.append(f"- GPU: {ours['cuda_device']}")
    if with_run_conditions and (busy := _contention_text(ours)):
        lines.append(f"- {busy}")
    return lines


# Other processes' average use of the cores above which the times are not the code's alone.
BUSY_CORES = 0.2
# What describes the run rather than the machine: two runs may differ in it and still compare.
RUN_CONDITIONS = ("load_average", "contention")


def _contention_text(ours: dict) -> str | None:
    """How busy other processes kept the cores during the run (or, in a file without that
    record, the load average at its start and end), and what that means for the times."""
    cores, during = ours.get("cpu_count") or 1, ours.get("contention")
    if during:
        others, steal = during["other_processes_cores"], during.get("steal_cores", 0)
        line = f"Other processes kept {others:g} of the {cores} cores busy, on average, during the run"
        if steal > BUSY_CORES / 2:
            line += f", and the hypervisor took {steal:g}"
        if others + steal > BUSY_CORES:
            return line + ": the times are inflated (PyTorch's most) and noisy"
        return line + " (quiet)"
    load = ours.get("load_average") or {}
    if load.get("start") and load.get("end"):
        return f"Load average (1 min): {load['start'][0]:g} when the run began, {load['end'][0]:g} when it ended, on {cores} cores"
    return None


def same_machine(first: dict, second: dict) -> bool:
    """Whether two files' machines and libraries' settings agree (the load may differ)."""
    def settings(machine_info):
        return {key: value for key, value in (machine_info.get("gradparity") or {}).items() if key not in RUN_CONDITIONS}

    return settings(first) == settings(second)


def machine_header(machine_info: dict, title: str = "Machine") -> str:
    return "\n".join([f"**{title}**", "", *machine_lines(machine_info)])


def markdown_table(medians: dict[str, dict[str, float]], peak_bytes: dict[str, dict[str, int | None]] | None = None) -> str:
    """One row per workload: ``median (ratio) · peak memory (ratio)`` per backend."""
    backends = [b for b in BACKENDS if any(b in row for row in medians.values())]
    time_ratio, memory_ratio = ratios(medians), ratios(peak_bytes or {})
    lines = ["| workload | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]
    for workload, by_backend in medians.items():
        cells = []
        for backend in backends:
            if backend not in by_backend:
                cells.append("-")
                continue
            ratio = time_ratio.get(workload, {}).get(backend)
            cell = format_time(by_backend[backend]) + (f" ({ratio:.2f}x)" if ratio is not None else "")
            peak = (peak_bytes or {}).get(workload, {}).get(backend)
            if peak is not None:
                memory = memory_ratio.get(workload, {}).get(backend)
                cell += f" · {format_bytes(peak)}" + (f" ({memory:.2f}x)" if memory is not None else "")
            cells.append(cell)
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- scaling


def scaling_series(scaling: dict[ScalingPoint, dict[str, Measurement]]) -> dict[tuple[str, str], list[tuple[ScalingPoint, dict[str, Measurement]]]]:
    """The sweep's points per (layer, dimension), in increasing value."""
    series: dict[tuple[str, str], list] = defaultdict(list)
    for point, by_backend in scaling.items():
        series[point.layer, point.dimension].append((point, by_backend))
    return {key: sorted(points, key=lambda item: item[0].value) for key, points in series.items()}


def growth_exponent(values: list[float], times: list[float]) -> float | None:
    """The slope of log(time) against log(value), least squares: time grows as value**slope."""
    pairs = [(math.log(v), math.log(t)) for v, t in zip(values, times) if v > 0 and t > 0]
    if len(pairs) < 2:
        return None
    mean_x, mean_y = (sum(p[i] for p in pairs) / len(pairs) for i in (0, 1))
    spread = sum((x - mean_x) ** 2 for x, _ in pairs)
    return sum((x - mean_x) * (y - mean_y) for x, y in pairs) / spread if spread else None


def _backend_times(points, backend: str) -> tuple[list[float], list[float]]:
    kept = [(p.value, row[backend].median) for p, row in points if backend in row]
    return [v for v, _ in kept], [t for _, t in kept]


def scaling_tables(scaling: dict[ScalingPoint, dict[str, Measurement]]) -> str:
    """A summary (growth exponents, ratio at both ends) and every point."""
    summary = ["| layer | dimension | range | numpy grows as | torch-cpu grows as | numpy / torch-cpu, smallest → largest |", "|---|---|---|---|---|---|"]
    detail = ["| layer | dimension | value | numpy | torch-cpu | ratio |", "|---|---|---|---|---|---|"]
    for (layer, dimension), points in scaling_series(scaling).items():
        exponents = [growth_exponent(*_backend_times(points, backend)) for backend in ("numpy", BASELINE)]
        grows = [f"{dimension}^{e:.2f}" if e is not None else "-" for e in exponents]
        point_ratios = [row["numpy"].median / row[BASELINE].median for _, row in points if "numpy" in row and BASELINE in row]
        ends = f"{point_ratios[0]:.2f}x → {point_ratios[-1]:.2f}x" if point_ratios else "-"
        summary.append(f"| {layer} | {dimension} | {points[0][0].value:g} to {points[-1][0].value:g} | {grows[0]} | {grows[1]} | {ends} |")
        for point, row in points:
            cells = [_measurement_text(row.get(backend)) for backend in ("numpy", BASELINE)]
            ratio = row["numpy"].median / row[BASELINE].median if "numpy" in row and BASELINE in row else None
            detail.append(f"| {layer} | {dimension} | {point.value:g} | {cells[0]} | {cells[1]} | {format_factor(ratio)} |")
    return "\n".join(["### Scaling: how the time grows (power-law fit over the points)", "", *summary, "", "### Scaling: every point", "", *detail])


def _measurement_text(measurement: Measurement | None) -> str:
    if measurement is None:
        return "-"
    return format_time(measurement.median) + (f" · {format_bytes(measurement.peak_bytes)}" if measurement.peak_bytes is not None else "")


# ---------------------------------------------------------------------------- compare


def compare_table(old: Results, new: Results) -> str:
    """Per workload and backend in either file: old and new median, new / old; the same
    for the peak memory where both files have it."""
    old_flat, new_flat = _flat(old), _flat(new)
    keys = _union_keys(old_flat, new_flat)
    with_memory = any(m.peak_bytes is not None for m in (*old_flat.values(), *new_flat.values()))
    header = "| workload | backend | old | new | change |" + (" old peak | new peak | change |" if with_memory else "")
    lines = [header, "|---|---|---|---|---|" + ("---|---|---|" if with_memory else "")]
    for workload, backend in keys:
        before, after = old_flat.get((workload, backend)), new_flat.get((workload, backend))
        cells = [_time_or_dash(before), _time_or_dash(after), format_factor(after.median / before.median if before and after else None)]
        if with_memory:
            old_peak = before.peak_bytes if before else None
            new_peak = after.peak_bytes if after else None
            change = new_peak / old_peak if old_peak and new_peak is not None else None
            cells += [_bytes_or_dash(old_peak), _bytes_or_dash(new_peak), format_factor(change)]
        lines.append(f"| {workload} | {backend} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _flat(results: Results) -> dict[tuple[str, str], Measurement]:
    flat = {(workload, backend): m for workload, row in results.workloads.items() for backend, m in row.items()}
    for point, row in results.scaling.items():
        name = f"scaling {point.layer} {point.dimension}={point.value:g}"
        flat.update({(name, backend): m for backend, m in row.items()})
    return flat


def _union_keys(first: dict, second: dict) -> list:
    """The keys of both, in the first's order, then the second's new ones; backends in the table's order."""
    order = {backend: index for index, backend in enumerate(BACKENDS)}
    workloads = list(dict.fromkeys([w for w, _ in first] + [w for w, _ in second]))
    keys = set(first) | set(second)
    return [(w, b) for w in workloads for b in sorted({b for k, b in keys if k == w}, key=lambda b: order.get(b, len(order)))]


def _time_or_dash(measurement: Measurement | None) -> str:
    return format_time(measurement.median) if measurement else "-"


def _bytes_or_dash(count: int | None) -> str:
    return format_bytes(count) if count is not None else "-"


def compare_report(old_path: Path, new_path: Path) -> str:
    old, new = load(old_path), load(new_path)
    if not (old.machine or new.machine):
        machines = []
    elif same_machine(old.machine, new.machine):
        lines = machine_lines(new.machine, with_run_conditions=False)
        for label, results in (("old", old), ("new", new)):
            if busy := _contention_text(results.machine.get("gradparity") or {}):
                lines.append(f"- {label} run: {busy[0].lower()}{busy[1:]}")
        machines = ["**Machine**", "", *lines]
    else:
        machines = [machine_header(old.machine, f"Old machine ({old_path})"), "", machine_header(new.machine, f"New machine ({new_path})")]
        machines.append("\nThe machines (or the libraries' threads) differ: the change factors compare more than the code.")
    intro = f"Old: {old_path}; new: {new_path}. change = new / old (< 1: faster, or less memory)."
    return "\n".join([*machines, *([""] if machines else []), intro, "", compare_table(old, new)])


# ----------------------------------------------------------------------------- charts


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    return plt


def _ratio_panel(axes, relative: dict[str, dict[str, float]], workloads: list[str], backends: list[str], label: str) -> None:
    height = 0.8 / max(len(backends), 1)
    for index, backend in enumerate(backends):
        values = [relative.get(w, {}).get(backend, float("nan")) for w in workloads]
        axes.barh([i + index * height for i in range(len(workloads))], values, height=height, label=backend)
    axes.set_yticks([i + height * (len(backends) - 1) / 2 for i in range(len(workloads))], workloads)
    axes.invert_yaxis()
    axes.set_xscale("log")
    _plain_log_ticks(axes.xaxis, "x")
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_xlabel(label)
    axes.legend(loc="lower right", fontsize="small")


def bar_chart(medians: dict[str, dict[str, float]], png: Path, peak_bytes: dict[str, dict[str, int | None]] | None = None) -> None:
    """Time ratios to torch-cpu; and, where peaks were recorded, peak-memory ratios beside them."""
    plt = _pyplot()
    relative, memory = ratios(medians), ratios(peak_bytes or {})
    workloads = list(relative)
    backends = [b for b in BACKENDS if any(b in row for row in relative.values())]
    panels = 2 if memory else 1
    figure, axes = plt.subplots(1, panels, figsize=(9 * panels, 0.5 + 0.45 * len(workloads) * max(len(backends), 1) ** 0.5), squeeze=False)
    _ratio_panel(axes[0][0], relative, workloads, backends, "median time / torch-cpu median (log scale; < 1 is faster)")
    if memory:
        _ratio_panel(axes[0][1], memory, workloads, backends, "peak memory / torch-cpu peak (log scale; < 1 is less)")
        axes[0][1].set_yticklabels([])
    figure.tight_layout()
    figure.savefig(png, dpi=120)
    plt.close(figure)


def scaling_chart(scaling: dict[ScalingPoint, dict[str, Measurement]], png: Path) -> None:
    """Per layer (rows) and dimension (columns): time against the dimension, log-log, with
    a dotted line where a time proportional to the work would lie; the ratio below."""
    plt = _pyplot()
    series = scaling_series(scaling)
    layers = list(dict.fromkeys(layer for layer, _ in series))
    columns = max(sum(1 for layer_, _ in series if layer_ == layer) for layer in layers)
    figure = plt.figure(figsize=(4.6 * columns, 4.4 * len(layers)))
    cells = figure.add_gridspec(len(layers), columns, hspace=0.4, wspace=0.3)
    for row, layer in enumerate(layers):
        for column, dimension in enumerate(dimension for layer_, dimension in series if layer_ == layer):
            time_cell, ratio_cell = cells[row, column].subgridspec(2, 1, height_ratios=[2, 1], hspace=0.08)
            time_axes = figure.add_subplot(time_cell)
            ratio_axes = figure.add_subplot(ratio_cell, sharex=time_axes)
            _scaling_panel(time_axes, ratio_axes, layer, dimension, series[layer, dimension])
    figure.savefig(png, dpi=100, bbox_inches="tight")
    plt.close(figure)


def _plain_log_ticks(axis, suffix: str = "", at=None) -> None:
    """Log-scale ticks written as plain numbers (``16``, ``0.5x``), at ``at`` if given, no minor labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    # 1, 2, 5 in each decade: a range narrower than a decade still gets labels.
    axis.set_major_locator(FixedLocator(at) if at is not None else LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}{suffix}"))
    axis.set_minor_formatter(NullFormatter())


def _scaling_panel(time_axes, ratio_axes, layer: str, dimension: str, points) -> None:
    for backend, style in (("numpy", "o-"), (BASELINE, "s-")):
        values, times = _backend_times(points, backend)
        time_axes.plot(values, [t * 1e3 for t in times], style, label=backend, markersize=4)
    # Where a time proportional to the work would lie, through torch-cpu's largest point.
    anchor = next(((p, row[BASELINE].median) for p, row in reversed(points) if BASELINE in row), None)
    if anchor:
        point, seconds = anchor
        time_axes.plot([p.value for p, _ in points], [seconds * 1e3 * p.work / point.work for p, _ in points], ":", color="grey", label="∝ work")
    time_axes.set(xscale="log", yscale="log", ylabel="median (ms)", title=f"{layer}: {dimension}")
    _plain_log_ticks(time_axes.yaxis)
    time_axes.legend(fontsize="x-small")
    time_axes.tick_params(labelbottom=False)
    values = [p.value for p, row in points if "numpy" in row and BASELINE in row]
    ratio_values = [row["numpy"].median / row[BASELINE].median for _, row in points if "numpy" in row and BASELINE in row]
    ratio_axes.plot(values, ratio_values, "d-", color="tab:red", markersize=4)
    ratio_axes.axhline(1.0, color="black", linewidth=0.8)
    label = "input and hidden size" if (layer, dimension) == ("lstm", "channels") else DIMENSION_LABELS.get(dimension, dimension)
    ratio_axes.set(xscale="log", yscale="log", xlabel=label, ylabel="numpy / torch")
    _plain_log_ticks(ratio_axes.yaxis, "x")
    _plain_log_ticks(ratio_axes.xaxis, at=[p.value for p, _ in points])


def scaling_png_for(png: Path | None, scaling_png: Path | None, has_workloads: bool) -> Path | None:
    """Where the sweep's chart goes: ``--scaling-png``; else ``--png`` itself when the file
    has only the sweep, or beside it (``NAME-scaling.png``)."""
    if scaling_png or png is None:
        return scaling_png
    return png.with_name(f"{png.stem}-scaling{png.suffix}") if has_workloads else png


# ------------------------------------------------------------------------------ main


def report(results: Results, png: Path | None = None, scaling_png: Path | None = None) -> str:
    """The whole text report; draws the charts asked for."""
    parts = [machine_header(results.machine)] if results.machine else []
    if results.workloads:
        parts.append(markdown_table(results.medians(), peaks(results)))
        if png:
            bar_chart(results.medians(), png, peaks(results))
            parts.append(f"chart: {png}")
    if results.scaling:
        parts.append(scaling_tables(results.scaling))
        target = scaling_png_for(png, scaling_png, bool(results.workloads))
        if target:
            scaling_chart(results.scaling, target)
            parts.append(f"scaling chart: {target}")
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, nargs="?", help="a pytest --benchmark-json file")
    parser.add_argument("--png", type=Path, help="also draw the time and memory ratios as bar charts in this PNG file")
    parser.add_argument("--scaling-png", type=Path, help="draw the scaling sweep here (default: beside --png, NAME-scaling.png)")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("OLD", "NEW"), help="compare two --benchmark-json files, workload by workload")
    args = parser.parse_args(argv)
    if (args.path is None) == (args.compare is None):
        parser.error("give one results file, or --compare OLD NEW")
    try:
        print(compare_report(*args.compare) if args.compare else report(load(args.path), args.png, args.scaling_png))
    except (OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
