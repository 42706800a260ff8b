"""Mixed-precision training steps: autocast, loss scaling, clipping and checkpoints.

``AmpTrainer(model, optimizer, loss_fn)`` runs one training step per ``step(inputs,
targets)``: the forward pass and the loss under ``torch.autocast`` (bfloat16 on the CPU and
float16 on CUDA by default), the backward pass through a ``torch.amp.GradScaler`` when the
dtype needs one, the gradients unscaled before optional clipping, then the optimizer step,
which the scaler skips when a gradient is inf or NaN. ``state_dict()`` /
``load_state_dict()`` save and restore the model, the optimizer and the scaler together, so
that a restored run continues exactly as the saved one would have.

Why a scaler for float16 and not for bfloat16: float16 has 5 exponent bits, its smallest
normal number is 6.1e-5 (subnormals reach 6e-8), and the gradients of a deep network are
often smaller: they underflow to zero in the float16 parts of the backward pass. The scaler
multiplies the loss by a large ``scale`` (65536 at first) so that every gradient is
``scale`` times larger during the backward pass, divides them again in float32 before the
optimizer uses them, and adapts: a step whose gradients overflowed (inf or NaN) is skipped
and the scale multiplied by ``backoff_factor``; after ``growth_interval`` steps in a row
without overflow it is multiplied by ``growth_factor``. bfloat16 has float32's 8 exponent
bits (its range), only fewer mantissa bits, so nothing underflows that float32 would keep
and no scaler is needed; ``scaler=True`` adds one anyway.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["AUTOCAST_DTYPES", "AmpTrainer", "StepResult"]

# The dtypes autocast runs in, per device type, the default first. CUDA's bfloat16 needs
# a GPU that supports it (Ampere or later), checked when a trainer is made.
AUTOCAST_DTYPES: dict[str, tuple[torch.dtype, ...]] = {
    "cpu": (torch.bfloat16, torch.float16),
    "cuda": (torch.float16, torch.bfloat16),
}
_SCALER_OPTIONS = ("init_scale", "growth_factor", "backoff_factor", "growth_interval")


@dataclass(frozen=True)
class StepResult:
    """What one ``AmpTrainer.step`` did.

    ``loss``: the step's loss, unscaled (a Python float). ``skipped``: the optimizer step
    was skipped because a gradient was inf or NaN (only a scaler skips; without one this is
    always False). ``scale``: the loss scale after this step's update, i.e. the one the
    next step will use (None without a scaler). ``grad_norm``: the total 2-norm of the
    unscaled gradients before clipping (None unless ``max_norm`` is set; inf or NaN on a
    skipped step).
    """

    loss: float
    skipped: bool
    scale: float | None
    grad_norm: float | None = None


def _positive_number(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{owner}: argument {name} must be a positive finite number; got {value!r}")
    return float(value)


def _scaler_options(scaler: Any) -> dict[str, Any]:
    """GradScaler's keyword arguments from the ``scaler`` argument's mapping, checked here:
    GradScaler itself asserts some of them and takes the others unchecked."""
    unknown = sorted(set(scaler) - set(_SCALER_OPTIONS))
    if unknown:
        raise ValueError(f"AmpTrainer: argument 'scaler' has unknown option(s) {', '.join(map(repr, unknown))}; the options are {', '.join(_SCALER_OPTIONS)}")
    options = dict(scaler)
    if "init_scale" in options:
        _positive_number("AmpTrainer", "'scaler' option 'init_scale'", options["init_scale"])
    if "growth_factor" in options and not (_positive_number("AmpTrainer", "'scaler' option 'growth_factor'", options["growth_factor"]) > 1):
        raise ValueError(f"AmpTrainer: argument 'scaler' option 'growth_factor' must be > 1; got {options['growth_factor']!r}")
    if "backoff_factor" in options and not (_positive_number("AmpTrainer", "'scaler' option 'backoff_factor'", options["backoff_factor"]) < 1):
        raise ValueError(f"AmpTrainer: argument 'scaler' option 'backoff_factor' must be in (0, 1); got {options['backoff_factor']!r}")
    interval = options.get("growth_interval", 1)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise ValueError(f"AmpTrainer: argument 'scaler' option 'growth_interval' must be a positive int; got {interval!r}")
    return options


def _check_device_and_dtype(device: Any, dtype: torch.dtype | None) -> tuple[torch.device, torch.dtype]:
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"AmpTrainer: argument 'device' must be 'cpu' or 'cuda' (or 'cuda:N'); got {device!r}") from error
    if device.type not in AUTOCAST_DTYPES:
        raise ValueError(f"AmpTrainer: argument 'device' must be 'cpu' or 'cuda' (or 'cuda:N'); got {str(device)!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("AmpTrainer: argument 'device' is 'cuda', but CUDA is not available (a CPU build of torch, or no GPU)")
    dtype = AUTOCAST_DTYPES[device.type][0] if dtype is None else dtype
    if dtype not in AUTOCAST_DTYPES[device.type]:
        names = " or ".join(str(d) for d in AUTOCAST_DTYPES[device.type])
        raise ValueError(f"AmpTrainer: argument 'dtype' must be {names} for autocast on {device.type}; got {dtype!r}")
    if device.type == "cuda" and dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        raise ValueError("AmpTrainer: argument 'dtype' is torch.bfloat16, but this GPU does not support bfloat16; use torch.float16")
    return device, dtype


def _check_model(model: nn.Module, device: torch.device) -> None:
    for name, parameter in model.named_parameters():
        if parameter.device.type != device.type:
            raise ValueError(f"AmpTrainer: argument 'model' has parameter {name!r} on {parameter.device}, but 'device' is {str(device)!r}; move the model before making its optimizer")
        if parameter.dtype in (torch.float16, torch.bfloat16):
            raise ValueError(
                f"AmpTrainer: argument 'model' has parameter {name!r} in {parameter.dtype}; keep the weights in float32: "
                "autocast runs each operation in low precision from float32 weights, and the updates, too small for "
                "16 bits, must accumulate in float32"
            )


def _to_device(value: Any, device: torch.device) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, (tuple, list)):
        return type(value)(_to_device(item, device) for item in value)
    return value


class AmpTrainer:
    """Training steps of ``model`` with ``optimizer`` under autocast.

    ``loss_fn(outputs, targets)`` returns the scalar loss; ``inputs`` may be one tensor or a
    tuple of the model's positional arguments (``model(*inputs)``); tensors are moved to
    ``device``. The model's parameters must already be on ``device``, in float32.

    ``dtype``: the autocast dtype; default bfloat16 on the CPU, float16 on CUDA (CPU
    float16 also works, in PyTorch 2.13, and is how the scaler is tested without a GPU).
    ``max_norm``: clip the gradients' total 2-norm to it (after unscaling, see ``step``).
    ``scaler``: None (the default): a ``torch.amp.GradScaler`` for float16, none for
    bfloat16; True or False: one or none whatever the dtype; a mapping: a scaler with these
    options (``init_scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval``).
    The model's mode (train or eval) is left as it is. Bad arguments raise ValueError naming
    the argument.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: Callable[[Any, Any], torch.Tensor],
        *,
        device: str | torch.device = "cpu",
        dtype: torch.dtype | None = None,
        max_norm: float | None = None,
        scaler: bool | Mapping[str, Any] | None = None,
    ) -> None:
        self.device, self.dtype = _check_device_and_dtype(device, dtype)
        _check_model(model, self.device)
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ValueError(f"AmpTrainer: argument 'optimizer' must be a torch.optim.Optimizer; got {type(optimizer).__name__}")
        if not callable(loss_fn):
            raise ValueError(f"AmpTrainer: argument 'loss_fn' must be callable; got {type(loss_fn).__name__}")
        self.max_norm = None if max_norm is None else _positive_number("AmpTrainer", "'max_norm'", max_norm)
        if scaler is None:
            scaler = self.dtype == torch.float16
        if not isinstance(scaler, (bool, Mapping)):
            raise ValueError(f"AmpTrainer: argument 'scaler' must be None, True, False or a mapping of GradScaler options; got {type(scaler).__name__}")
        options = _scaler_options(scaler) if isinstance(scaler, Mapping) else {}
        self.scaler: torch.amp.GradScaler | None = torch.amp.GradScaler(self.device.type, **options) if scaler is not False else None
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn

    def _parameters(self) -> list[torch.Tensor]:
        """What the optimizer updates: what ``unscale_`` unscales, so what must be clipped."""
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def step(self, inputs: Any, targets: Any) -> StepResult:
        """One training step; returns the loss, whether the update was skipped and the scale.

        The order matters. Forward and loss run under autocast (the loss too: autocast
        computes losses such as cross entropy in float32 anyway); the backward pass runs
        outside it, each backward operation in the dtype its forward operation had. With a
        scaler the gradients come out ``scale`` times too large, so they are unscaled
        (``scaler.unscale_``) *before* clipping: clipping the scaled gradients to
        ``max_norm`` would clip their true norm to ``max_norm / scale``, a threshold that
        moreover changes whenever the scale does. ``unscale_`` also records whether a
        gradient is inf or NaN; ``scaler.step`` then skips the optimizer step for this
        batch (the weights and the optimizer's state stay as they were) and ``update``
        backs the scale off. A skipped step is seen through an optimizer step hook, so
        nothing else is synchronised to find out.
        """
        self.optimizer.zero_grad(set_to_none=True)
        inputs, targets = _to_device(inputs, self.device), _to_device(targets, self.device)
        with torch.autocast(self.device.type, dtype=self.dtype):
            outputs = self.model(*inputs) if isinstance(inputs, (tuple, list)) else self.model(inputs)
            loss = self.loss_fn(outputs, targets)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise ValueError(f"AmpTrainer: argument 'loss_fn' must return a scalar tensor; got {type(loss).__name__} of shape {tuple(getattr(loss, 'shape', ()))}")
        scaler = self.scaler
        if scaler is None:
            loss.backward()
            grad_norm = self._clip()
            self.optimizer.step()
            return StepResult(float(loss.detach()), False, None, grad_norm)
        scaler.scale(loss).backward()
        if self.max_norm is not None:
            scaler.unscale_(self.optimizer)
        grad_norm = self._clip()
        stepped = []
        hook = self.optimizer.register_step_post_hook(lambda *_: stepped.append(True))
        try:
            scaler.step(self.optimizer)
        finally:
            hook.remove()
        scaler.update()
        return StepResult(float(loss.detach()), not stepped, scaler.get_scale(), grad_norm)

    def _clip(self) -> float | None:
        if self.max_norm is None:
            return None
        return float(nn.utils.clip_grad_norm_(self._parameters(), self.max_norm))

    def state_dict(self) -> dict[str, Any]:
        """``{'model': ..., 'optimizer': ..., 'scaler': ...}`` (``'scaler'`` None without a
        scaler): a deep copy, safe to keep while training goes on; ``torch.save`` it for a
        file. The scaler's state is its scale and its count of steps since the last
        overflow (and its factors): without it a restored run would start again at
        ``init_scale`` and skip steps the saved run would not have. Random number
        generators are not included: a model with dropout needs ``torch.get_rng_state()``
        saved beside it to continue identically."""
        return copy.deepcopy(
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scaler": None if self.scaler is None else self.scaler.state_dict(),
            }
        )

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what ``state_dict()`` saved (the scaler's options included, as
        ``GradScaler.load_state_dict`` restores them)."""
        missing = [key for key in ("model", "optimizer", "scaler") if key not in state_dict]
        if missing:
            raise ValueError(f"AmpTrainer.load_state_dict: argument 'state_dict' lacks {', '.join(map(repr, missing))}; expected the dict of AmpTrainer.state_dict()")
        if (state_dict["scaler"] is None) != (self.scaler is None):
            saved, here = ("no scaler", "has one") if state_dict["scaler"] is None else ("a scaler", "has none")
            raise ValueError(f"AmpTrainer.load_state_dict: argument 'state_dict' was saved with {saved}, but this trainer {here}; make it with scaler={state_dict['scaler'] is not None}")
        self.model.load_state_dict(state_dict["model"])
        self.optimizer.load_state_dict(state_dict["optimizer"])
        if self.scaler is not None:
            self.scaler.load_state_dict(state_dict["scaler"])
