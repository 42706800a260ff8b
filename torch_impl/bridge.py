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
each ``None``-free (autograd passes zeros for unused outputs), except for an output that
is None (attention weights not asked for): it stays None, and so does its gradient. When
the backward returns gradients for some arguments only (``cross_entropy_backward`` returns
``dlogits``, not a gradient for the integer targets), ``grad_positions`` says which.

Arrays go to NumPy as copies: a layer that updates an argument in place (batch norm's
running statistics) updates the copy, not the tensor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch


def _to_numpy(tensor: torch.Tensor | None) -> np.ndarray | None:
    return None if tensor is None else tensor.detach().cpu().numpy().copy()


def _to_tensor(array, device: torch.device) -> torch.Tensor:
    # np.asarray: a reduced loss may come back as a NumPy scalar; order="C" keeps it 0-d
    # (np.ascontiguousarray would make it 1-d).
    return torch.from_numpy(np.asarray(array, order="C")).to(device)


class _NumpyFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, forward: Callable, backward: Callable, grad_positions, hyperparameters: dict, *tensors: torch.Tensor | None):
        arrays = [_to_numpy(t) for t in tensors]
        *outputs, cache = forward(*arrays, **hyperparameters)
        ctx.backward_fn, ctx.cache = backward, cache
        ctx.device = next(t.device for t in tensors if t is not None)
        ctx.count = len(tensors)
        ctx.grad_positions = range(len(tensors)) if grad_positions is None else grad_positions
        return tuple(None if out is None else _to_tensor(out, ctx.device) for out in outputs)

    @staticmethod
    def backward(ctx: Any, *upstream: torch.Tensor):
        grads = ctx.backward_fn(*[_to_numpy(g) for g in upstream], ctx.cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        by_position: list[torch.Tensor | None] = [None] * ctx.count
        for position, grad in zip(ctx.grad_positions, grads):
            if grad is not None and ctx.needs_input_grad[4 + position]:
                by_position[position] = _to_tensor(grad, ctx.device)
        return (None, None, None, None, *by_position)


def numpy_op(forward: Callable, backward: Callable, grad_positions: Sequence[int] | None = None) -> Callable[..., Any]:
    """A differentiable torch function that runs ``forward``/``backward`` in NumPy.

    ``grad_positions``: the positions of the tensor arguments that the backward's
    gradients belong to, in its return order (default: every argument). Returns a single
    tensor when the forward has one output, else a tuple of tensors. No double backward.
    """
    positions = None if grad_positions is None else tuple(grad_positions)

    def apply(*tensors: torch.Tensor | None, **hyperparameters: Any):
        outputs = _NumpyFunction.apply(forward, backward, positions, hyperparameters, *tensors)
        return outputs[0] if len(outputs) == 1 else outputs

    apply.__name__ = getattr(forward, "__name__", "numpy_op").removesuffix("_forward")
    return apply
