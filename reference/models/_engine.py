"""A small engine for NumPy models built from an implementation's layer functions.

A model is a list of steps run in order; each step calls one ``NAME_forward`` of the
implementation (the reference by default, or a learner's module: ``--impl`` checks the
learner's layers inside whole models too), keeps its cache, and in ``backward`` calls the
matching ``NAME_backward`` in reverse order. Parameters live in one dict keyed like the
PyTorch twin's ``state_dict()``, so a state_dict converted with ``{k: v.numpy()}`` loads
unchanged, and gradients come back keyed like ``named_parameters()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from ..norm import BATCH_COUNTER, BATCH_NORM_BUFFERS

BUFFER_SUFFIXES = tuple(f".{name}" for name in BATCH_NORM_BUFFERS)


@dataclass
class SummaryRow:
    """One leaf layer, as ``torchinfo.summary`` lists it."""

    name: str
    kind: str  # the twin's class name: Conv2d, BatchNorm2d, Linear, ...
    output_shape: tuple[int, ...]
    num_params: int


class Step:
    """One layer of a model: ``forward`` returns its output, ``backward`` the input's
    gradient and adds its parameter gradients to ``grads``."""

    name = ""
    kind = ""
    param_names: tuple[str, ...] = ()  # the trainable keys it reads from the model's params

    def forward(self, model: Model, x, training: bool):
        raise NotImplementedError

    def backward(self, model: Model, dout, grads: dict):
        raise NotImplementedError

    def summary_rows(self, model: Model, output) -> list[SummaryRow]:
        count = sum(model.params[key].size for key in self.param_names)
        return [SummaryRow(self.name, self.kind, tuple(np.shape(output)), count)]


class Model:
    """Parameters (a state_dict), steps, and the forward/backward/summary that run them."""

    def __init__(self, steps: list[Step], params: dict[str, np.ndarray], impl: ModuleType | None) -> None:
        if impl is None:
            import reference as default  # the worked solution is the default implementation

            impl = default
        self.impl: ModuleType = impl
        self.steps = steps
        self.params = params

    # -------------------------------------------------------------- parameters

    def load_state_dict(self, state: dict) -> None:
        """Load ``{key: ndarray}`` (a PyTorch ``state_dict`` with ``.numpy()`` values)
        unchanged: the same keys and shapes; ``num_batches_tracked`` may be absent."""
        expected = {key for key in self.params if not key.endswith(f".{BATCH_COUNTER}")}
        given = {key for key in state if not key.endswith(f".{BATCH_COUNTER}")}
        if given != expected:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: argument 'state' has missing keys {sorted(expected - given)} "
                f"and unexpected keys {sorted(given - expected)}"
            )
        for key in expected:
            value = np.asarray(state[key])
            if value.shape != self.params[key].shape:
                raise ValueError(f"{type(self).__name__}.load_state_dict: argument 'state' has {key} of shape {value.shape}, expected {self.params[key].shape}")
        self.params = {key: np.array(state[key]) if key in state else value.copy() for key, value in self.params.items()}

    def state_dict(self) -> dict[str, np.ndarray]:
        return {key: value.copy() for key, value in self.params.items()}

    def named_parameters(self) -> dict[str, np.ndarray]:
        """The trainable entries (what an optimiser updates)."""
        return {key: value for key, value in self.params.items() if not key.endswith(BUFFER_SUFFIXES)}

    def astype(self, dtype) -> Model:
        """Float parameters and buffers in ``dtype`` (in place); returns the model."""
        self.params = {k: v.astype(dtype) if np.issubdtype(v.dtype, np.floating) else v for k, v in self.params.items()}
        return self

    # ---------------------------------------------------------- forward/backward

    def forward(self, x, training: bool = False):
        """The model's output; ``training`` switches batch norm to batch statistics (and
        updates the running statistics in place) and dropout on."""
        for step in self.steps:
            x = step.forward(self, x, training)
        return x

    def backward(self, dout) -> dict[str, np.ndarray]:
        """Gradients of every trainable parameter (keyed like ``named_parameters()``) for
        the upstream gradient ``dout`` of the last ``forward``; ``self.input_grad`` keeps dx."""
        grads: dict[str, np.ndarray] = {}
        for step in reversed(self.steps):
            dout = step.backward(self, dout, grads)
        self.input_grad = dout
        return {key: grads[key] for key in self.named_parameters()}

    def summary(self, input_shape: tuple[int, ...], dtype=np.float64) -> list[SummaryRow]:
        """Per leaf layer: output shape and parameter count, in forward order, as
        ``torchinfo.summary(twin, input_size=input_shape)`` lists them. Runs an eval
        forward pass on zeros (nothing is updated)."""
        rows: list[SummaryRow] = []
        x = np.zeros(input_shape, dtype=dtype)
        for step in self.steps:
            x = step.forward(self, x, False)
            rows += step.summary_rows(self, x)
        return rows

    def format_summary(self, input_shape: tuple[int, ...]) -> str:
        rows = self.summary(input_shape)
        width = max(len(f"{r.name} ({r.kind})") for r in rows)
        lines = [f"{'Layer':<{width}}  {'Output Shape':<22} Param #"]
        lines += [f"{f'{r.name} ({r.kind})':<{width}}  {str(list(r.output_shape)):<22} {r.num_params:,}" for r in rows]
        total = sum(v.size for v in self.named_parameters().values())
        return "\n".join([*lines, f"Total params: {total:,}"])


def uniform_init(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    """PyTorch's default for Linear, Conv and recurrent layers: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape)


def batch_norm_state(prefix: str, channels: int) -> dict[str, np.ndarray]:
    return {
        f"{prefix}.weight": np.ones(channels),
        f"{prefix}.bias": np.zeros(channels),
        f"{prefix}.running_mean": np.zeros(channels),
        f"{prefix}.running_var": np.ones(channels),
        f"{prefix}.{BATCH_COUNTER}": np.array(0),
    }
