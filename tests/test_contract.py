"""What fails a run for someone else's implementation: wrong, NaN or infinite values and
wrong dtypes always do; bad-input errors and RuntimeWarnings are the reference's contract,
advisory unless --check-contract; batch counters may be counted or not."""

from gradparity.contract import Contract

from .selftest import only_with_default_impl, run_suite, write_module

# Right values at x = -1e4, but exp(1e4) overflows with a RuntimeWarning.
OVERFLOWING_SIGMOID = """
    import numpy as np

    def sigmoid_forward(x):
        out = 1 / (1 + np.exp(-x))
        return out, out

    def sigmoid_backward(dout, out):
        return dout * out * (1 - out)
"""

# Correct, but bad input raises PyTorch's own errors (RuntimeError, its wording).
PYTORCH_STYLE_ERRORS = """
    import reference

    def relu_forward(x):
        if x.dtype.kind != "f":
            raise RuntimeError('"clamp_min_cpu" not implemented for \\'Long\\'')
        return reference.relu_forward(x)

    relu_backward = reference.relu_backward
"""

# Counts training batches in the caller's num_batches_tracked, as nn.BatchNorm2d does.
COUNTING_BLOCK = """
    import reference

    def basic_block_forward(x, params, stride=1, training=True):
        out = reference.basic_block_forward(x, params, stride, training)
        if training:
            for key, value in params.items():
                if key.endswith("num_batches_tracked"):
                    value += 1
        return out

    basic_block_backward = reference.basic_block_backward
"""


def test_a_warning_on_right_values_is_advisory(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    module = str(write_module(tmp_path / "impl", "my_sigmoid.py", OVERFLOWING_SIGMOID))
    run = run_suite(tmp_path, module, "--layer", "sigmoid")
    assert run.returncode == 0, run.output[-3000:]
    assert set(run.table["sigmoid"].values()) == {"passed"}
    row = next(line for line in run.report["table"] if line.startswith("sigmoid "))
    assert "passed, with RuntimeWarning: overflow encountered in exp" in row
    notes = {(a["check"], a["note"]) for a in run.report["advisories"]}
    assert ("forward", "RuntimeWarning: overflow encountered in exp") in notes
    assert "sigmoid_forward raised RuntimeWarning" in run.report["advisories"][0]["example"]

    strict = run_suite(tmp_path, module, "--layer", "sigmoid", "--check-contract", "-k", "forward")
    assert strict.returncode == 1, strict.output[-3000:]
    assert strict.table["sigmoid"]["forward"] == "FAILED"
    assert "sigmoid: sigmoid_forward raised RuntimeWarning: overflow encountered in exp" in strict.output


def test_undocumented_errors_are_advisory(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    module = str(write_module(tmp_path / "impl", "my_relu.py", PYTORCH_STYLE_ERRORS))
    run = run_suite(tmp_path, module, "--layer", "relu")
    assert run.returncode == 0, run.output[-3000:]
    assert run.table["relu"]["errors"] == "passed"
    assert [a["note"] for a in run.report["advisories"]] == ["undocumented errors"]
    assert "relu_forward raised RuntimeError" in run.report["advisories"][0]["example"]

    strict = run_suite(tmp_path, module, "--layer", "relu", "--check-contract", "-k", "errors")
    assert strict.returncode == 1 and strict.table["relu"]["errors"] == "FAILED", strict.output[-3000:]


def test_batch_counters_may_be_counted(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    module = str(write_module(tmp_path / "impl", "my_block.py", COUNTING_BLOCK))
    run = run_suite(tmp_path, module, "--layer", "basic_block", "-k", "forward or purity")
    assert run.returncode == 0, run.output[-3000:]
    assert run.table["basic_block"]["forward"] == run.table["basic_block"]["purity"] == "passed"


def test_an_enforced_contract_raises_and_an_advisory_one_notes():
    class Node:
        user_properties: list = []

    node = Node()
    Contract(enforced=False, node=node).breach("note", lambda: "the message")
    assert node.user_properties == [("advisory", "note"), ("advisory-example", ("note", "the message"))]
    try:
        Contract(enforced=True).breach("note", lambda: "the message")
    except AssertionError as error:
        assert str(error) == "the message"
    else:
        raise AssertionError("an enforced contract must raise")
