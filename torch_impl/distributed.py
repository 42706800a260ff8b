"""Data-parallel training across processes on one machine, checked against one process.

- ``run_processes(fn, world_size)``: the launcher. Spawns ``world_size`` processes
  (``torch.multiprocessing``, spawn context), joins them into one process group and returns
  each rank's ``fn(rank, world_size, *args)``. A worker that raises makes the launcher raise
  :class:`WorkerError` with that worker's message and traceback text (the other workers,
  perhaps blocked in a collective waiting for it, are terminated, not waited for); a run
  past ``timeout`` raises ``TimeoutError``; the processes are always terminated and joined.
- ``train_ddp(model, dataset, batch_size=..., steps=...)``: SGD (or any optimizer) steps of
  any model under ``DistributedDataParallel``, each process reading its share of every
  batch through a ``DistributedSampler``; batch norm per process or synchronised.
  ``train_local`` runs the same steps in this process on the whole batch: with equal shares
  (and synchronised batch norm) the two agree to rounding, which is what the tests check.
- ``CPUSyncBatchNorm`` / ``convert_sync_batchnorm``: batch norm with statistics over the
  whole batch across processes. PyTorch's ``nn.SyncBatchNorm`` (2.13 included) refuses CPU
  tensors: in training, inside a process group of more than one process, its forward raises
  ``ValueError: SyncBatchNorm expected input tensor to be on GPU or XPU or ...``. So on the
  CPU (gloo) the batch norm layers are converted to ``CPUSyncBatchNorm``, written here from
  differentiable all-reduces; on CUDA to ``nn.SyncBatchNorm``.

Why processes and not ``nn.DataParallel``: DataParallel is one process driving several GPUs
from threads (the GIL, a model replicated on every forward, GPU 0 gathering every output);
PyTorch recommends DistributedDataParallel instead even on one machine, and DataParallel
does nothing at all on CPUs.

The port: the launcher's process holds the rendezvous store (``TCPStore``) on port 0, which
the operating system replaces by a free port, and passes the port it got to the workers.
Nothing is chosen and then released, so concurrent runs (``pytest -n auto``) cannot clash.
Gloo's own connections between the workers use ports the system assigns too.
"""

from __future__ import annotations

import datetime
import io
import os
import pickle
import queue
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler

__all__ = [
    "CPUSyncBatchNorm",
    "StepRecord",
    "WorkerError",
    "convert_sync_batchnorm",
    "run_processes",
    "train_ddp",
    "train_local",
]

_HOST = "127.0.0.1"


class WorkerError(RuntimeError):
    """A worker process failed: it raised (``exception_type``, ``message`` and the worker's
    ``traceback`` text are its own; the exception itself, when it could be sent back, is
    this error's ``__cause__``) or it died without reporting (killed, crashed, ``os._exit``)."""

    def __init__(self, rank: int, world_size: int, exception_type: str, message: str, traceback_text: str):
        self.rank = rank
        self.world_size = world_size
        self.exception_type = exception_type
        self.message = message
        self.traceback = traceback_text
        text = f"rank {rank} of {world_size} failed: {exception_type}: {message}"
        if traceback_text:
            text += f"\n\nTraceback in rank {rank}:\n{traceback_text.rstrip()}"
        super().__init__(text)


# --- sending work and results between processes -------------------------------------------
#
# Both directions go as bytes written by torch.save. Pickling tensors through a
# torch.multiprocessing queue would move them to shared memory (the caller's tensors too,
# as a side effect) and hand out file descriptors that die with the process that sent them.


def _dumps(obj: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _loads(data: bytes) -> Any:
    # weights_only=False: the bytes come from this launcher or from its own workers.
    return torch.load(io.BytesIO(data), weights_only=False)


def _report(results: Any, message: tuple) -> None:
    """Put ``message`` on the results queue and wait until it is written to the pipe, so
    that it reaches the launcher before this worker tears down its connections (which is what
    makes the other workers fail: their errors then arrive after this one)."""
    results.put(message)
    results.close()
    results.join_thread()


def _worker_main(rank: int, world_size: int, backend: str, port: int, timeout_s: float, threads: int, payload: bytes, results: Any) -> None:
    """The body of every spawned process: join the process group, run the job, report."""
    initialised = False
    try:
        torch.set_num_threads(threads)
        fn, args = _loads(payload)
        timeout = datetime.timedelta(seconds=timeout_s)
        store = dist.TCPStore(_HOST, port, world_size=None, is_master=False, timeout=timeout)
        dist.init_process_group(backend, store=store, rank=rank, world_size=world_size, timeout=timeout)
        initialised = True
        message: tuple = (rank, True, _dumps(fn(rank, world_size, *args)))
    except BaseException as error:  # noqa: B036 - SystemExit and KeyboardInterrupt are reported too
        try:
            sent: bytes | None = pickle.dumps(error)
        except Exception:
            sent = None
        message = (rank, False, (type(error).__qualname__, str(error), traceback.format_exc(), sent))
    _report(results, message)
    if initialised:
        dist.destroy_process_group()


def _default_threads(world_size: int) -> int:
    return max(1, (os.cpu_count() or 1) // world_size)


def run_processes(
    fn: Callable[..., Any],
    world_size: int = 2,
    args: Sequence[Any] = (),
    *,
    backend: str = "gloo",
    timeout: float = 120.0,
    threads_per_process: int | None = None,
) -> list[Any]:
    """``[fn(rank, world_size, *args) for rank in range(world_size)]``, each rank in its own
    spawned process, all joined in one process group (``backend``: ``'gloo'`` on CPUs,
    ``'nccl'`` for CUDA tensors).

    ``fn`` and ``args`` reach the workers pickled (spawn starts fresh interpreters): ``fn``
    must be a module-level function, not a lambda or a local function. Results come back
    pickled too (tensors included, through ``torch.save``).

    Raises :class:`WorkerError` for the first worker that fails (its exception type, message
    and traceback text; ``__cause__`` is the exception itself when it pickles) and
    ``TimeoutError`` when the workers have not all finished after ``timeout`` seconds (the
    process group's own timeout is the same, so a collective that waits for a dead peer
    gives up too). Either way, and on success, every worker is terminated if still alive and
    joined before this returns. ``threads_per_process``: torch's intra-op threads in each
    worker (default: the CPU count divided by ``world_size``, so that the workers do not
    oversubscribe the cores).
    """
    if not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"run_processes: argument 'world_size' must be a positive int; got {world_size!r}")
    if not timeout > 0:
        raise ValueError(f"run_processes: argument 'timeout' must be positive; got {timeout!r}")
    try:
        payload = _dumps((fn, tuple(args)))
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise ValueError(
            "run_processes: argument 'fn' and its 'args' must be picklable to reach the spawned processes "
            f"(a module-level function, no lambdas or local classes): {error}"
        ) from error
    threads = threads_per_process or _default_threads(world_size)
    context = mp.get_context("spawn")
    results = context.Queue()
    # Port 0: the system picks a free port and the store keeps it bound for the whole run.
    store = dist.TCPStore(_HOST, 0, world_size=None, is_master=True, wait_for_workers=False, timeout=datetime.timedelta(seconds=timeout))
    processes = [
        context.Process(
            target=_worker_main,
            args=(rank, world_size, backend, store.port, timeout, threads, payload, results),
            name=f"torch_impl.distributed-rank{rank}",
            daemon=True,  # and should the launcher exit first, multiprocessing terminates it
        )
        for rank in range(world_size)
    ]
    try:
        for process in processes:
            process.start()
        return _collect(processes, results, world_size, timeout)
    finally:
        _stop(processes)
        results.close()
        results.cancel_join_thread()
        del store


def _collect(processes: list[Any], results: Any, world_size: int, timeout: float) -> list[Any]:
    """Each rank's result, in rank order; the first failure raised as it arrives."""
    deadline = time.monotonic() + timeout
    outputs: dict[int, Any] = {}
    while len(outputs) < world_size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pending = [rank for rank in range(world_size) if rank not in outputs]
            raise TimeoutError(f"run_processes: rank(s) {pending} of {world_size} did not finish within the timeout of {timeout:g} s")
        try:
            rank, ok, payload = results.get(timeout=min(0.2, remaining))
        except queue.Empty:
            _check_alive(processes, outputs, results, world_size)
            continue
        if not ok:
            raise _root_cause(_worker_error(rank, world_size, payload), processes)
        outputs[rank] = _loads(payload)
    return [outputs[rank] for rank in range(world_size)]


def _check_alive(processes: list[Any], outputs: dict[int, Any], results: Any, world_size: int) -> None:
    """Raise for a worker that is gone without having reported (killed, crashed, os._exit)."""
    for rank, process in enumerate(processes):
        if rank in outputs or process.is_alive():
            continue
        # Its report may still be in the pipe: a worker exits right after writing it.
        try:
            other, ok, payload = results.get(timeout=1.0)
        except queue.Empty:
            raise _died(rank, world_size, process.exitcode) from None
        if not ok:
            raise _root_cause(_worker_error(other, world_size, payload), processes)
        outputs[other] = _loads(payload)


def _died(rank: int, world_size: int, code: int | None, then: WorkerError | None = None) -> WorkerError:
    how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
    message = f"the process {how} without reporting a result or an error"
    if then is not None:
        message += f" (then rank {then.rank} failed: {then.exception_type}: {then.message})"
    return WorkerError(rank, world_size, "ProcessDied", message, "")


_GRACE_S = 1.0


def _root_cause(error: WorkerError, processes: list[Any]) -> WorkerError:
    """The error to raise for a failed run: ``error``, the first reported, unless another
    worker died without reporting (its exit code not 0; workers that report exit with 0).
    A worker that dies makes its peers fail in their next collective ("Connection reset by
    peer"), and those errors can arrive before the death is seen: a short grace period
    lets the death show, and it is reported as the cause."""
    deadline = time.monotonic() + _GRACE_S
    while True:
        for rank, process in enumerate(processes):
            if rank != error.rank and process.exitcode not in (None, 0):
                return _died(rank, error.world_size, process.exitcode, then=error)
        if time.monotonic() > deadline or all(not p.is_alive() for rank, p in enumerate(processes) if rank != error.rank):
            return error
        time.sleep(0.05)


def _worker_error(rank: int, world_size: int, payload: tuple) -> WorkerError:
    exception_type, message, traceback_text, sent = payload
    error = WorkerError(rank, world_size, exception_type, message, traceback_text)
    if sent is not None:
        try:
            error.__cause__ = pickle.loads(sent)
        except Exception:  # an exception class this process cannot rebuild: the text is enough
            pass
    return error


def _stop(processes: list[Any]) -> None:
    """Terminate (SIGTERM) what is still running, join, and kill what ignores SIGTERM."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        if process.pid is None:  # never started
            continue
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join(timeout=10)


# --- synchronised batch norm on CPUs ------------------------------------------------------


class _AllReduceSum(torch.autograd.Function):
    """A sum over the processes of the group, differentiable: every process gets the sum
    ``y = x_0 + ... + x_{n-1}`` and the loss of the whole run is the sum of the processes'
    losses, so the gradient with respect to one process's ``x`` is the sum of every
    process's gradient with respect to ``y``: an all-reduce again."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, group: Any) -> torch.Tensor:  # type: ignore[override]
        ctx.group = group
        total = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(total, group=group)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        total = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(total, group=ctx.group)
        return total, None


def _all_reduce_sum(tensor: torch.Tensor, group: Any) -> torch.Tensor:
    return _AllReduceSum.apply(tensor, group)


class CPUSyncBatchNorm(_BatchNorm):
    """Batch norm whose training statistics are those of the whole batch across the
    processes of the group, for CPU tensors (gloo), where ``nn.SyncBatchNorm`` refuses to run.

    Training, in a process group of more than one process: the per-channel sums are
    all-reduced to the global mean, then the sums of squared deviations to the global
    (biased) variance, two passes as batch norm's own kernels do rather than
    ``E[x^2] - E[x]^2``, which cancels. The all-reduces are autograd functions
    (``_AllReduceSum``, here because ``torch.distributed.nn.functional.all_reduce`` is
    deprecated): the backward of a sum over processes all-reduces the incoming gradients,
    so every process receives the gradient of the whole batch's loss with respect to the
    shared statistics, as one process on the whole batch would. The running statistics are updated as ``nn.BatchNorm2d`` updates them (unbiased
    variance, ``momentum``, ``num_batches_tracked``); the parameter and buffer names are
    batch norm's, so state_dicts load both ways. Otherwise (eval, or no group) it is plain
    batch norm. Any input of shape (N, C, ...).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True, track_running_stats: bool = True, process_group: Any = None, device=None, dtype=None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self.process_group = process_group

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"CPUSyncBatchNorm: expected an input of at least 2 dimensions (N, C, ...); got {input.dim()}-D")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        group_size = dist.get_world_size(self.process_group) if dist.is_available() and dist.is_initialized() else 1
        if not self.training or group_size == 1:
            return super().forward(input)
        self._check_input_dim(input)
        group = self.process_group if self.process_group is not None else dist.group.WORLD
        dims = [0, *range(2, input.dim())]
        shape = [1, -1] + [1] * (input.dim() - 2)
        local_count = input.new_full((1,), input.numel() / input.shape[1])
        sums = _all_reduce_sum(torch.cat([input.sum(dims), local_count]), group)
        count = sums[-1].detach()
        mean = sums[:-1] / count
        centred = input - mean.reshape(shape)
        var = _all_reduce_sum(centred.square().sum(dims), group) / count
        output = centred * torch.rsqrt(var + self.eps).reshape(shape)
        if self.affine:
            output = output * self.weight.reshape(shape) + self.bias.reshape(shape)
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                assert self.num_batches_tracked is not None
                self.num_batches_tracked.add_(1)
                factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.detach(), factor)
                self.running_var.lerp_(var.detach() * count / (count - 1), factor)
        return output

    @classmethod
    def convert(cls, module: nn.Module, process_group: Any = None) -> nn.Module:
        """``module`` with every batch norm layer replaced by a ``CPUSyncBatchNorm`` holding
        the same parameters and buffers (as ``nn.SyncBatchNorm.convert_sync_batchnorm``)."""
        converted = module
        if isinstance(module, _BatchNorm) and not isinstance(module, cls):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats, process_group)
            if module.affine:
                converted.weight, converted.bias = module.weight, module.bias
            converted.running_mean = module.running_mean
            converted.running_var = module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
            converted.train(module.training)
        for name, child in module.named_children():
            converted.add_module(name, cls.convert(child, process_group))
        return converted


def convert_sync_batchnorm(module: nn.Module, device: torch.device | str = "cpu") -> nn.Module:
    """Batch norm synchronised across the process group: ``nn.SyncBatchNorm`` on CUDA, where
    PyTorch implements it, :class:`CPUSyncBatchNorm` on the CPU, where ``nn.SyncBatchNorm``
    raises ``ValueError`` in training (PyTorch 2.13 included)."""
    if torch.device(device).type == "cpu":
        return CPUSyncBatchNorm.convert(module)
    return nn.SyncBatchNorm.convert_sync_batchnorm(module)


# --- training steps ----------------------------------------------------------------------


@dataclass
class StepRecord:
    """One training step: the loss of the whole batch (the mean of the processes' losses
    under DDP), the gradients the optimizer used (after DDP's averaging) and the model's
    ``state_dict`` after the step, parameters and buffers, keyed as the model's own (no
    ``module.`` prefix), on the CPU."""

    loss: float
    grads: dict[str, torch.Tensor]
    state: dict[str, torch.Tensor]


def _default_optimizer(parameters) -> torch.optim.Optimizer:
    return torch.optim.SGD(parameters, lr=0.1)


def _check_args(name: str, world_size: int, batch_size: int, dataset_size: int, steps: int) -> None:
    for argument, value in (("world_size", world_size), ("batch_size", batch_size), ("steps", steps)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: argument '{argument}' must be a positive int; got {value!r}")
    if batch_size % world_size:
        raise ValueError(
            f"{name}: argument 'batch_size' ({batch_size}) must be a multiple of 'world_size' ({world_size}): "
            "DDP averages the processes' gradients with equal weights, so unequal shares would weigh "
            "the samples of the smaller share more than one process on the whole batch does"
        )
    if dataset_size % world_size:
        raise ValueError(
            f"{name}: the dataset's length ({dataset_size}) must be a multiple of 'world_size' ({world_size}): "
            "DistributedSampler would pad the last shares by repeating samples, counting them twice"
        )


def _batches(loader: DataLoader, sampler: DistributedSampler, steps: int) -> Iterator[Any]:
    """``steps`` batches, starting a new epoch (``set_epoch``: a new order when shuffling)
    whenever the loader runs out."""
    epoch, taken = 0, 0
    while True:
        sampler.set_epoch(epoch)
        for batch in loader:
            yield batch
            taken += 1
            if taken == steps:
                return
        epoch += 1


def _to(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    return type(batch)(_to(item, device) for item in batch)


def _train(model: nn.Module, ddp: nn.Module, batches: Iterator[Any], optimizer: torch.optim.Optimizer, loss_fn: Callable, world_size: int) -> list[StepRecord]:
    """The training loop both sides share: forward through ``ddp`` (the model itself when
    not distributed), backward, step; record the gradients and the state."""
    device = next(model.parameters()).device
    records = []
    for inputs, targets in batches:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(ddp(_to(inputs, device)), _to(targets, device))
        loss.backward()
        grads = {name: p.grad.detach().cpu().clone() for name, p in model.named_parameters() if p.grad is not None}
        optimizer.step()
        total = loss.detach().clone()
        if world_size > 1:
            dist.all_reduce(total)
            total /= world_size
        state = {name: value.detach().cpu().clone() for name, value in model.state_dict().items()}
        records.append(StepRecord(float(total), grads, state))
    return records


def _ddp_worker(rank: int, world_size: int, model: nn.Module, dataset: Dataset, batch_size: int, steps: int, optimizer: Callable, loss_fn: Callable, sync_batchnorm: bool, device_type: str, shuffle: bool, seed: int) -> list[StepRecord]:
    device = torch.device(device_type, rank) if device_type == "cuda" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    model = model.to(device)
    if sync_batchnorm:
        model = convert_sync_batchnorm(model, device)
    ddp = DistributedDataParallel(model, device_ids=[rank] if device.type == "cuda" else None)
    sampler: DistributedSampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed, drop_last=False)
    loader = DataLoader(dataset, batch_size=batch_size // world_size, sampler=sampler)
    return _train(model, ddp, _batches(loader, sampler, steps), optimizer(ddp.parameters()), loss_fn, world_size)


def train_ddp(
    model: nn.Module,
    dataset: Dataset,
    *,
    batch_size: int,
    steps: int = 1,
    world_size: int = 2,
    optimizer: Callable[..., torch.optim.Optimizer] | None = None,
    loss_fn: Callable[[Any, Any], torch.Tensor] = F.cross_entropy,
    sync_batchnorm: bool = False,
    device: str = "cpu",
    backend: str | None = None,
    shuffle: bool = False,
    seed: int = 0,
    timeout: float = 120.0,
) -> list[list[StepRecord]]:
    """``steps`` training steps of ``model`` under ``DistributedDataParallel`` in
    ``world_size`` processes; returns every rank's records, ``records[rank][step]``.

    Every step takes the next ``batch_size`` samples of ``dataset`` (a map-style dataset of
    ``(input, target)`` pairs), each process ``batch_size // world_size`` of them through a
    ``DistributedSampler`` (``shuffle``, ``seed``: its order; a new epoch starts when the
    dataset runs out). ``optimizer(parameters)`` builds the optimizer in each process
    (default: SGD, lr 0.1); ``loss_fn(outputs, targets)`` is the mean loss of a share.
    Each process gets a copy of ``model`` as it is now (its weights included).

    ``sync_batchnorm``: False, batch norm normalises each process's share by that share's
    own statistics (so the step is not the whole batch's); True, by the whole batch's
    (:func:`convert_sync_batchnorm`). ``device``: ``'cpu'`` (backend gloo) or ``'cuda'``
    (one GPU per rank, backend nccl). ``model``, ``optimizer``, ``loss_fn`` and ``dataset``
    must be picklable (module-level functions and classes; ``functools.partial`` is fine).

    Uneven splits are rejected (ValueError naming ``batch_size`` or the dataset's length
    and ``world_size``), not padded: DDP averages the processes' gradients with equal
    weights, so a smaller share would weigh its samples more, and DistributedSampler's
    padding repeats samples. Either way the result would silently stop being the whole
    batch's step, which is what DDP is for.
    """
    _check_args("train_ddp", world_size, batch_size, len(dataset), steps)  # type: ignore[arg-type]
    if device not in ("cpu", "cuda"):
        raise ValueError(f"train_ddp: argument 'device' must be 'cpu' or 'cuda'; got {device!r}")
    if device == "cuda" and torch.cuda.device_count() < world_size:
        raise ValueError(f"train_ddp: argument 'device' is 'cuda', but {torch.cuda.device_count()} GPU(s) are visible for a world_size of {world_size} (NCCL needs one GPU per process)")
    backend = backend or ("nccl" if device == "cuda" else "gloo")
    job = (model, dataset, batch_size, steps, optimizer or _default_optimizer, loss_fn, sync_batchnorm, device, shuffle, seed)
    return run_processes(_ddp_worker, world_size, job, backend=backend, timeout=timeout)


def train_local(
    model: nn.Module,
    dataset: Dataset,
    *,
    batch_size: int,
    steps: int = 1,
    optimizer: Callable[..., torch.optim.Optimizer] | None = None,
    loss_fn: Callable[[Any, Any], torch.Tensor] = F.cross_entropy,
    shuffle: bool = False,
    seed: int = 0,
) -> list[StepRecord]:
    """The same steps as :func:`train_ddp`, in this process on the whole batch, on the model
    itself (it is trained in place): the batches are the same samples (a
    ``DistributedSampler`` of one replica orders the dataset as the ranks' samplers
    interleave it)."""
    _check_args("train_local", 1, batch_size, len(dataset), steps)  # type: ignore[arg-type]
    sampler: DistributedSampler = DistributedSampler(dataset, num_replicas=1, rank=0, shuffle=shuffle, seed=seed, drop_last=False)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler)
    build = optimizer or _default_optimizer
    return _train(model, model, _batches(loader, sampler, steps), build(model.parameters()), loss_fn, 1)

