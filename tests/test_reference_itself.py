"""Properties of the reference package itself: no torch, a working numerical checker."""

import math
import subprocess
import sys

import numpy as np
import pytest

import reference
from reference.gradcheck import check_layer_gradients, numerical_gradient
from reference.transformer import erf

from .known_bugs import conv_bias_grad_averaged


def test_reference_never_imports_torch():
    code = "import sys, reference; assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_twins_never_import_the_reference():
    """The oracle does not lean on what it judges."""
    code = "import sys, torch_impl, torch_impl.models, torch_impl.residual; assert 'reference' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_numerical_gradient_of_a_known_function():
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    dout = np.array([[1.0, 2.0], [-1.0, 0.5]])
    # d/dx sum(x**3 * dout) = 3 x**2 dout
    assert np.allclose(numerical_gradient(lambda v: v**3, x, dout), 3 * x**2 * dout, rtol=1e-8, atol=1e-8)


def test_numerical_gradient_leaves_its_input_alone():
    x = np.linspace(-1, 1, 6)
    before = x.copy()
    numerical_gradient(np.sin, x, np.ones_like(x))
    assert np.array_equal(x, before)


def test_checker_accepts_the_reference_and_catches_a_bug():
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((6, 2, 3, 3)), rng.standard_normal(6)]
    kwargs = {"stride": 2, "padding": 1, "groups": 2, "names": ["x", "weight", "bias"]}
    good = check_layer_gradients(reference.conv2d_forward, reference.conv2d_backward, arrays, **kwargs)
    assert good.ok, str(good)
    bad = check_layer_gradients(conv_bias_grad_averaged.conv2d_forward, conv_bias_grad_averaged.conv2d_backward, arrays, **kwargs)
    assert not bad.ok and "GRADIENTS DIFFER" in str(bad)
    assert bad.within_tolerance == [True, True, False]


def test_checker_wants_float64():
    with pytest.raises(TypeError, match="float64"):
        check_layer_gradients(reference.max_pool2d_forward, reference.max_pool2d_backward, [np.ones((1, 1, 2, 2), np.float32)], kernel_size=2)


def test_reference_dropout_mask_follows_numpy_seed():
    """The reference draws from NumPy's global generator, so np.random.seed (as course
    notebooks use) reproduces its masks. (A choice of the reference, not of the SPEC.)"""
    np.random.seed(1234)  # noqa: NPY002  (the legacy global generator is the point)
    first, _ = reference.dropout_forward(np.ones(1000), 0.3)
    np.random.seed(1234)  # noqa: NPY002  (the legacy global generator is the point)
    second, _ = reference.dropout_forward(np.ones(1000), 0.3)
    assert np.array_equal(first, second)


def test_erf_is_accurate_to_float64():
    """NumPy has no erf, and the exact GELU (PyTorch's default) needs one: the reference's is
    within 1e-15, relative, of math.erf (measured: 5.6e-16 on 2e5 points in [-7, 7])."""
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, -1e-300, 1e-8, 30.0, -np.inf, np.inf]])
    expected = np.array([math.erf(value) for value in x])
    assert np.all(np.abs(erf(x) - expected) <= 1e-15 * np.abs(expected))
