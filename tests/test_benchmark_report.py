"""The benchmark report: medians and ratios from a pytest-benchmark JSON, and its chart."""

import json

from benchmarks import report


def fake_results(tmp_path):
    medians = {("conv", "torch-cpu"): 0.002, ("conv", "numpy"): 0.006, ("conv", "torch-cpu-bf16"): 0.001, ("lstm", "numpy"): 0.5}
    benchmarks = [
        {"name": f"test_speed[{w}-{b}]", "group": w, "extra_info": {"workload": w, "backend": b}, "stats": {"median": m}}
        for (w, b), m in medians.items()
    ]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"benchmarks": benchmarks}))
    return path


def test_table_has_medians_and_ratios_to_torch_cpu(tmp_path):
    table = report.markdown_table(report.load_medians(fake_results(tmp_path)))
    assert "| workload | numpy | torch-cpu | torch-cpu-bf16 |" in table
    # 6 ms / 2 ms = 3x; 1 ms / 2 ms = 0.5x; lstm has no torch-cpu: no ratio.
    assert "| conv | 6 ms (3.00x) | 2 ms (1.00x) | 1 ms (0.50x) |" in table
    assert "| lstm | 500 ms | - | - |" in table


def test_command_writes_a_png(tmp_path, capsys):
    png = tmp_path / "chart.png"
    assert report.main([str(fake_results(tmp_path)), "--png", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(3.00x)" in capsys.readouterr().out


def test_bad_file_is_a_clear_error(tmp_path, capsys):
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"benchmarks": []}))
    assert report.main([str(empty)]) == 2
    assert "holds no benchmarks" in capsys.readouterr().err
