"""Optimizers as learners check them: a file defining a step, in a folder of its own,
gets its row in the table (trajectory, purity, errors) and nothing else fails; a step
taking fewer options than the SPEC is checked on those it takes, and says so; a wrong
step fails its trajectory, the message naming the first step at which it parts from
torch.optim; --layer and --check-only take the optimizers' names and column."""

from .selftest import only_with_default_impl, run_suite, write_module

# A learner's first SGD: momentum, and nothing else of torch.optim.SGD's options.
LEARNER_SGD = '''
import numpy as np


def sgd_step(params, grads, state, lr, momentum=0.0):
    state = state or {}
    new_params, new_state = {}, {}
    for name, param in params.items():
        grad = grads[name]
        entry = {}
        if momentum:
            previous = state.get(name, {}).get("momentum_buffer")
            entry["momentum_buffer"] = grad.copy() if previous is None else momentum * previous + grad
            grad = entry["momentum_buffer"]
        new_params[name] = param - lr * grad
        new_state[name] = entry
    return new_params, new_state
'''


def test_a_learner_sized_step_is_checked_on_the_options_it_takes(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    path = write_module(tmp_path / "learner", "my_sgd.py", LEARNER_SGD)
    run = run_suite(tmp_path, str(path))
    assert run.returncode == 0, run.output[-3000:]
    assert run.table["sgd"] == {"trajectory": "passed", "purity": "passed", "errors": "passed"}
    assert list(run.report["left_out"]["sgd"]) == ["dampening", "weight_decay", "nesterov", "maximize"]
    assert run.report["left_out"]["sgd"]["nesterov"] == "sgd_step takes no 'nesterov' argument"
    row = next(line for line in run.report["table"] if line.startswith("sgd "))
    assert "passed (without dampening, weight_decay, nesterov, maximize)" in row, row
    assert run.table["adam"] == dict.fromkeys(("purity", "errors", "trajectory"), "not implemented")
    header = run.report["table"][0].split()
    assert header == ["layer", "purity", "errors", "trajectory"], header  # no layer checked: the optimizers' columns only


def test_a_wrong_step_fails_its_trajectory_naming_the_step(pytestconfig, tmp_path):
    only_with_default_impl(pytestconfig)
    wrong = LEARNER_SGD.replace("momentum * previous + grad", "momentum * previous + (1 - momentum) * grad")
    path = write_module(tmp_path / "learner", "my_sgd.py", wrong)
    run = run_suite(tmp_path, str(path), "--layer", "sgd", "--check-only", "trajectory", profile="ci-noshrink")
    assert run.returncode == 1, run.output[-3000:]
    assert list(run.table) == ["sgd"] and run.table["sgd"]["trajectory"] == "FAILED"
    message = run.report["failures"][0]["message"]
    # Tiny gradients keep the parameters within the tolerance at first; the buffer is not.
    assert message.startswith(("sgd: params['", "sgd: new_state['")) and "after step 2 of" in message and "differs from PyTorch" in message, message
    assert "buf = momentum * buf + (1 - dampening) * g" in message  # the hint
