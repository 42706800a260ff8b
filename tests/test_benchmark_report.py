"""The benchmark report: medians, ratios and peak memory from a pytest-benchmark JSON, the
machine it ran on, the comparison of two runs, the scaling sweep, and the charts. Synthetic
files only: nothing is timed here."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MACHINE = {
    "cpu": {"brand_raw": "pytest-benchmark's name for it", "count": 2},
    "python_version": "3.11.7",
    "gradparity": {
        "cpu_model": "Intel(R) Xeon(R) Processor",
        "cpu_count": 2,
        "usable_cores": 2,
        "numpy": "2.4.6",
        "torch": "2.13.0+cpu",
        "torch_threads": 2,
        "torch_interop_threads": 2,
        "thread_pools": [
            {"user_api": "openmp", "internal_api": "openmp", "num_threads": 2, "file": "libgomp.so.1"},
            {"user_api": "blas", "internal_api": "openblas", "version": "0.3.31", "num_threads": 2, "threading_layer": "pthreads", "architecture": "SkylakeX", "file": "libopenblas.so"},
        ],
        "python": "3.11.7",
    },
}


def bench(workload, backend, median, peak=None, scaling=None):
    """One entry of a ``--benchmark-json`` file, as test_benchmarks.py records it."""
    info = {"workload": workload, "backend": backend}
    if peak is not None:
        info["peak_bytes"] = peak
    if scaling is not None:
        info["scaling"] = scaling
    return {"name": f"test_speed[{workload}-{backend}]", "group": workload, "extra_info": info, "stats": {"median": median}}


def write(tmp_path, benchmarks, name="results.json", machine=None):
    path = tmp_path / name
    path.write_text(json.dumps({"machine_info": machine if machine is not None else MACHINE, "benchmarks": benchmarks}))
    return path


def fake_results(tmp_path, name="results.json", numpy_conv=0.006, numpy_peak=48_000_000):
    return write(
        tmp_path,
        [
            bench("conv", "torch-cpu", 0.002, 8_000_000),
            bench("conv", "numpy", numpy_conv, numpy_peak),
            bench("conv", "torch-cpu-bf16", 0.001, 4_000_000),
            bench("lstm", "numpy", 0.5),
        ],
        name,
    )


def sweep_point(layer, dimension, value, work):
    return {"layer": layer, "dimension": dimension, "value": value, "work": work, "work_unit": "FLOP"}


def fake_sweep(tmp_path, name="sweep.json", with_workloads=False):
    """conv2d over the batch: numpy's time grows as batch**2, torch's as batch (so the
    ratio goes from 2x at batch 1 to 128x at batch 64)."""
    benchmarks = []
    for batch in (1, 4, 16, 64):
        point = sweep_point("conv2d", "batch", batch, 1e6 * batch)
        name_ = f"scaling-conv2d-batch-{batch}"
        benchmarks += [bench(name_, "numpy", 2e-3 * batch**2, 1000 * batch, point), bench(name_, "torch-cpu", 1e-3 * batch, 500 * batch, point)]
    if with_workloads:
        benchmarks += json.loads(fake_results(tmp_path, "plain.json").read_text())["benchmarks"]
    return write(tmp_path, benchmarks, name)


# ---------------------------------------------------------------------------- the table


def test_table_has_medians_and_ratios_to_torch_cpu(tmp_path):
    table = report.markdown_table(report.load_medians(fake_results(tmp_path)))
    assert "| workload | numpy | torch-cpu | torch-cpu-bf16 |" in table
    # 6 ms / 2 ms = 3x; 1 ms / 2 ms = 0.5x; lstm has no torch-cpu: no ratio.
    assert "| conv | 6 ms (3.00x) | 2 ms (1.00x) | 1 ms (0.50x) |" in table
    assert "| lstm | 500 ms | - | - |" in table


def test_table_shows_peak_memory_and_its_ratio_beside_the_time(tmp_path):
    results = report.load(fake_results(tmp_path))
    table = report.markdown_table(results.medians(), report.peaks(results))
    # 48 MB / 8 MB = 6x the memory of torch-cpu; lstm recorded no peak: the time alone.
    assert "| conv | 6 ms (3.00x) · 48 MB (6.00x) | 2 ms (1.00x) · 8 MB (1.00x) | 1 ms (0.50x) · 4 MB (0.50x) |" in table
    assert "| lstm | 500 ms | - | - |" in table


@pytest.mark.parametrize(("count", "text"), [(512, "512 B"), (48_000, "48 kB"), (12_345_678, "12.3 MB"), (2.5e9, "2.5 GB")])
def test_bytes_are_written_in_decimal_units(count, text):
    assert report.format_bytes(count) == text


# -------------------------------------------------------------------------- the machine


def test_report_starts_with_the_machine(tmp_path, capsys):
    assert report.main([str(fake_results(tmp_path))]) == 0
    out = capsys.readouterr().out
    header = out.split("| workload |")[0]
    assert "- CPU: Intel(R) Xeon(R) Processor, 2 cores" in header
    assert "- BLAS: OpenBLAS 0.3.31 (SkylakeX, pthreads, libopenblas.so), 2 threads" in header
    assert "- PyTorch 2.13.0+cpu: 2 intra-op threads (OpenMP (libgomp.so.1), 2 threads)" in header
    assert "- NumPy 2.4.6; Python 3.11.7" in header


def test_a_run_limited_to_fewer_cores_says_so():
    machine = {"gradparity": {**MACHINE["gradparity"], "cpu_count": 16, "usable_cores": 2}}
    assert "- CPU: Intel(R) Xeon(R) Processor, 16 cores (2 usable by the run)" in report.machine_lines(machine)


def with_run(**conditions):
    return {"gradparity": {**MACHINE["gradparity"], **conditions}}


def test_a_quiet_run_is_stated_plainly():
    machine = with_run(contention={"seconds": 60.0, "other_processes_cores": 0.03, "steal_cores": 0.0})
    assert "- Other processes kept 0.03 of the 2 cores busy, on average, during the run (quiet)" in report.machine_lines(machine)


def test_a_busy_run_is_called_out():
    machine = with_run(contention={"seconds": 60.0, "other_processes_cores": 1.7, "steal_cores": 0.0})
    (line,) = [line for line in report.machine_lines(machine) if line.startswith("- Other processes")]
    assert line.endswith("1.7 of the 2 cores busy, on average, during the run: the times are inflated (PyTorch's most) and noisy")


def test_without_the_cpu_record_the_load_average_is_given():
    machine = with_run(load_average={"start": [0.1, 0.2, 0.3], "end": [1.6, 0.9, 0.5]})
    assert "- Load average (1 min): 0.1 when the run began, 1.6 when it ended, on 2 cores" in report.machine_lines(machine)


def test_an_older_file_falls_back_to_pytest_benchmarks_own_fields():
    lines = report.machine_lines({"cpu": {"brand_raw": "Some CPU", "count": 8}, "python_version": "3.10.1"})
    assert lines[0] == "- CPU: Some CPU, 8 cores"
    assert "Python 3.10.1" in lines[1]


# --------------------------------------------------------------------------- --compare


def test_compare_shows_old_new_and_the_change_per_workload_and_backend(tmp_path, capsys):
    old = fake_results(tmp_path, "old.json")
    new = fake_results(tmp_path, "new.json", numpy_conv=0.003, numpy_peak=24_000_000)
    assert report.main(["--compare", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "| workload | backend | old | new | change | old peak | new peak | change |" in out
    # numpy's conv got twice as fast and halved its memory; the rest did not move.
    assert "| conv | numpy | 6 ms | 3 ms | 0.50x | 48 MB | 24 MB | 0.50x |" in out
    assert "| conv | torch-cpu | 2 ms | 2 ms | 1.00x | 8 MB | 8 MB | 1.00x |" in out
    assert "| lstm | numpy | 500 ms | 500 ms | 1.00x | - | - | - |" in out
    assert "- CPU: Intel(R) Xeon(R) Processor, 2 cores" in out


def test_compare_keeps_a_workload_only_one_side_has(tmp_path):
    old = write(tmp_path, [bench("conv", "numpy", 0.004)], "old.json")
    new = write(tmp_path, [bench("conv", "numpy", 0.002), bench("pool", "numpy", 0.001)], "new.json")
    table = report.compare_report(old, new)
    assert "| conv | numpy | 4 ms | 2 ms | 0.50x |" in table
    assert "| pool | numpy | - | 1 ms | - |" in table


def test_compare_on_one_machine_gives_each_runs_load(tmp_path):
    quiet = with_run(contention={"seconds": 60.0, "other_processes_cores": 0.0, "steal_cores": 0.0})
    busy = with_run(contention={"seconds": 60.0, "other_processes_cores": 1.5, "steal_cores": 0.0})
    old = write(tmp_path, [bench("conv", "numpy", 0.004)], "old.json", machine=quiet)
    new = write(tmp_path, [bench("conv", "numpy", 0.002)], "new.json", machine=busy)
    text = report.compare_report(old, new)
    assert text.count("- CPU: ") == 1
    assert "- old run: other processes kept 0 of the 2 cores busy, on average, during the run (quiet)" in text
    assert "- new run: other processes kept 1.5 of the 2 cores busy" in text
    assert "differ" not in text


def test_compare_warns_when_the_machines_differ(tmp_path):
    other = {"gradparity": {**MACHINE["gradparity"], "torch_threads": 1}}
    old = write(tmp_path, [bench("conv", "numpy", 0.004)], "old.json")
    new = write(tmp_path, [bench("conv", "numpy", 0.002)], "new.json", machine=other)
    text = report.compare_report(old, new)
    assert "PyTorch 2.13.0+cpu: 1 intra-op threads" in text
    assert "The machines (or the libraries' threads) differ" in text


def test_the_command_needs_one_file_or_compare(tmp_path, capsys):
    with pytest.raises(SystemExit):
        report.main([])
    assert "give one results file, or --compare OLD NEW" in capsys.readouterr().err


# ---------------------------------------------------------------------------- scaling


def test_scaling_table_fits_how_each_backend_grows(tmp_path):
    text = report.scaling_tables(report.load(fake_sweep(tmp_path)).scaling)
    assert "| conv2d | batch | 1 to 64 | batch^2.00 | batch^1.00 | 2.00x → 128.00x |" in text
    assert "| conv2d | batch | 4 | 32 ms · 4 kB | 4 ms · 2 kB | 8.00x |" in text


def test_sweep_points_stay_out_of_the_workload_table(tmp_path, capsys):
    assert report.main([str(fake_sweep(tmp_path, with_workloads=True))]) == 0
    out = capsys.readouterr().out
    assert "| conv | 6 ms (3.00x)" in out
    assert "| scaling-conv2d" not in out
    assert "### Scaling: how the time grows" in out


def test_png_draws_the_ratios_and_the_sweep_beside_it(tmp_path, capsys):
    png = tmp_path / "chart.png"
    assert report.main([str(fake_sweep(tmp_path, with_workloads=True)), "--png", str(png)]) == 0
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert (tmp_path / "chart-scaling.png").read_bytes()[:8] == PNG_SIGNATURE
    out = capsys.readouterr().out
    assert "(3.00x)" in out
    assert f"scaling chart: {tmp_path / 'chart-scaling.png'}" in out


@pytest.mark.parametrize(
    ("png", "scaling_png", "has_workloads", "expected"),
    [
        ("r.png", None, True, "r-scaling.png"),  # both kinds: the sweep beside the ratios
        ("r.png", None, False, "r.png"),  # a sweep-only file: --png is its chart
        ("r.png", "s.png", True, "s.png"),  # asked for by name
        (None, "s.png", False, "s.png"),
        (None, None, True, None),  # no chart asked for
    ],
)
def test_where_the_sweep_chart_goes(png, scaling_png, has_workloads, expected):
    assert report.scaling_png_for(_path(png), _path(scaling_png), has_workloads) == _path(expected)


def _path(name):
    return Path(name) if name else None


# ------------------------------------------------------------------------------ other


def test_bad_file_is_a_clear_error(tmp_path, capsys):
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"benchmarks": []}))
    assert report.main([str(empty)]) == 2
    assert "holds no benchmarks" in capsys.readouterr().err


def test_report_needs_no_torch(tmp_path):
    """A report can be made where torch is not installed (None in sys.modules: import fails)."""
    code = f"import sys; sys.modules['torch'] = None; from benchmarks import report; sys.exit(report.main([{str(fake_results(tmp_path))!r}]))"
    checkout = Path(report.__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=checkout, capture_output=True)
