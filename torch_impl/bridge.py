"""Wrap a NumPy ``forward``/``backward`` pair as a ``torch.autograd.Function``.

With the bridge, a hand-written NumPy layer becomes a differentiable PyTorch op: it can
sit inside a PyTorch model, and ``torch.autograd.gradcheck`` can check its backward pass
against finite differences of its own forward pass::

    conv = numpy_op(reference.conv2d_forward, reference.conv2d_backward)
    out = conv(x, weight, bias, stride=2)          # tensors in, tensor out
    torch.autograd.gradcheck(lambda *a: conv(*a, stride=2), (x, weight, bias))

Tensor arguments (and ``None`` in their place) come first, hyperparameters as keywords.
The forward may return several outputs before its cache (``lstm_forward`` returns
``(output, h_n, c_n, cache)``); the backward receives one upstream gradient per output,
each ``None``-free (autograd passes zeros for unused outputs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def _to_numpy(tensor: torch.Tensor | None) -> np.ndarray | None:
    return None if tensor is None else tensor.detach().cpu().numpy().copy()


class _NumpyFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, forward: Callable, backward: Callable, hyperparameters: dict, *tensors: torch.Tensor | None):
        arrays = [_to_numpy(t) for t in tensors]
        *outputs, cache = forward(*arrays, **hyperparameters)
        ctx.backward_fn, ctx.cache = backward, cache
        ctx.device = next(t.device for t in tensors if t is not None)
        ctx.present = [t is not None for t in tensors]
        return tuple(torch.from_numpy(np.ascontiguousarray(out)).to(ctx.device) for out in outputs)

    @staticmethod
    def backward(ctx: Any, *upstream: torch.Tensor):
        grads = ctx.backward_fn(*[_to_numpy(g) for g in upstream], ctx.cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        as_tensors = tuple(
            None if grad is None or not present else torch.from_numpy(np.ascontiguousarray(grad)).to(ctx.device)
            for grad, present in zip(grads, ctx.present)
        )
        return (None, None, None, *as_tensors)


def numpy_op(forward: Callable, backward: Callable) -> Callable[..., Any]:
    """A differentiable torch function that runs ``forward``/``backward`` in NumPy.

    Returns a single tensor when the forward has one output, else a tuple of tensors.
    Gradients are computed once per backward call (no double backward).
    """

    def apply(*tensors: torch.Tensor | None, **hyperparameters: Any):
        outputs = _NumpyFunction.apply(forward, backward, hyperparameters, *tensors)
        return outputs[0] if len(outputs) == 1 else outputs

    apply.__name__ = getattr(forward, "__name__", "numpy_op").removesuffix("_forward")
    return apply
