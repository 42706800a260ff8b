"""A central-difference gradient checker for NumPy layers (float64).

Use it on your own layers before (or instead of) the PyTorch comparison::

    from reference.gradcheck import check_layer_gradients
    report = check_layer_gradients(my.conv2d_forward, my.conv2d_backward,
                                   [x, weight, bias], stride=2, padding=1)
    print(report)            # per-argument max error; report.ok is True when they agree

The backward pass is checked for a random upstream gradient ``dout`` (never all ones: a
constant upstream gradient hides bugs such as a transposed ``dout``). Each argument's
numerical gradient is ``(L(x + eps) - L(x - eps)) / (2 eps)`` per element, with
``L = sum(forward(...) * dout)``. That needs two forward passes per element, so keep the
arrays small (a few hundred elements).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


def numerical_gradient(function: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Gradient of ``sum(function(x) * dout)`` with respect to ``x`` by central differences.

    ``x`` is not modified: each element is perturbed in a private float64 copy. The loop
    over elements is the method itself (one perturbation at a time), not a layer.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(f"numerical_gradient: argument 'x' must be a float64 numpy.ndarray; got {getattr(x, 'dtype', type(x).__name__)}")
    probe = x.copy()
    grad = np.zeros_like(probe)
    flat_probe, flat_grad = probe.reshape(-1), grad.reshape(-1)
    for index in range(flat_probe.size):
        original = flat_probe[index]
        flat_probe[index] = original + eps
        plus = np.sum(function(probe) * dout)
        flat_probe[index] = original - eps
        minus = np.sum(function(probe) * dout)
        flat_probe[index] = original
        flat_grad[index] = (plus - minus) / (2 * eps)
    return grad


@dataclass
class GradientReport:
    """Per-argument comparison of an analytic gradient with the numerical one."""

    names: list[str]
    max_abs_error: list[float]
    max_rel_error: list[float]
    within_tolerance: list[bool]  # every element: |analytic - numeric| <= atol + rtol * |numeric|
    rtol: float
    atol: float

    @property
    def ok(self) -> bool:
        return all(self.within_tolerance)

    def __str__(self) -> str:
        rows = [
            f"  {name}: max abs error {abs_err:.3g}, max rel error {rel:.3g}"
            for name, abs_err, rel in zip(self.names, self.max_abs_error, self.max_rel_error)
        ]
        verdict = "gradients agree" if self.ok else "GRADIENTS DIFFER"
        return f"{verdict} (rtol={self.rtol:g}, atol={self.atol:g})\n" + "\n".join(rows)


def check_layer_gradients(
    forward: Callable,
    backward: Callable,
    arrays: Sequence[np.ndarray | None],
    *,
    names: Sequence[str] | None = None,
    seed: int = 0,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    **hyperparameters,
) -> GradientReport:
    """Compare ``backward``'s gradients with central differences of ``forward``.

    ``forward(*arrays, **hyperparameters)`` must return ``(out, cache)`` and
    ``backward(dout, cache)`` the gradients in the order of ``arrays`` (a bare array when
    there is one). ``None`` entries (an absent bias) are passed through and skipped.
    Tolerances suit float64 and the default ``eps``: finite differences of a smooth layer
    are accurate to about ``eps**2`` relative, round-off to ``1e-16 / eps``.
    """
    arrays = list(arrays)
    names = list(names) if names is not None else [f"arrays[{i}]" for i in range(len(arrays))]
    for name, array in zip(names, arrays):
        if array is not None and (not isinstance(array, np.ndarray) or array.dtype != np.float64):
            raise TypeError(f"check_layer_gradients: argument '{name}' must be a float64 numpy.ndarray (finite differences need float64)")
    out, cache = forward(*arrays, **hyperparameters)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    analytic = backward(dout.copy(), cache)
    analytic = list(analytic) if isinstance(analytic, tuple) else [analytic]

    report = GradientReport([], [], [], [], rtol, atol)
    for position, (name, array) in enumerate(zip(names, arrays)):
        if array is None:
            continue

        def forward_of_one(value, position=position):
            args = arrays.copy()
            args[position] = value
            return forward(*args, **hyperparameters)[0]

        numeric = numerical_gradient(forward_of_one, array, dout, eps)
        error = np.abs(np.asarray(analytic[position]) - numeric)
        scale = np.maximum(np.abs(numeric), np.abs(analytic[position]))
        report.names.append(name)
        report.max_abs_error.append(float(error.max(initial=0.0)))
        report.max_rel_error.append(float((error / np.maximum(scale, 1e-12)).max(initial=0.0)))
        report.within_tolerance.append(bool(np.all(error <= atol + rtol * np.abs(numeric))))
    return report
