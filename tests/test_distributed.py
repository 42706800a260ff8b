"""``torch_impl.distributed``: DDP in two processes against one process on the whole batch.

Two processes (gloo, on the CPU) each take half of every batch; after each of 3 SGD steps
their gradients and weights equal, in float64 to rounding, those of one process training on
the whole batch: a LeNet-5, and a small ResNet-18 (width 4) with synchronised batch norm.
Without synchronised batch norm each process normalises its half by the half's own
statistics: the step is then a different one, exactly the mean of the two halves' steps,
which is tested too. Uneven splits are rejected; a worker that raises or dies fails the run
with its error instead of hanging; no process is left behind after any test. Each test
spawns its own processes on a free port of its own, so the file runs under ``pytest -n``.
"""

from __future__ import annotations

import contextlib
import copy
import multiprocessing
import os
import signal
import threading
import time

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DistributedSampler, TensorDataset

import torch_impl.models as torch_models
from torch_impl.distributed import CPUSyncBatchNorm, StepRecord, WorkerError, convert_sync_batchnorm, run_processes, train_ddp, train_local

pytestmark = pytest.mark.slow  # starts worker processes

STEPS, BATCH, WORLD = 3, 8, 2
# float64, two processes against one: the sums are taken in other orders (each process sums
# its half, the all-reduce adds the halves), so the results agree to rounding, not bitwise.
# Measured (seeds 0-2): LeNet-5 gradients within 9e-16 of their largest element, weights
# within 3e-17; the ResNet's gradients within 1e-13, its state within 3e-15 (batch norm
# amplifies rounding: two orders of the same batch in one process differ by as much,
# 4e-14 to 9e-14). That uses at most 6% of this tolerance; float32 rounding alone would
# exceed it by 1e3 or more, and any real difference (per-process statistics: 100%) by far.
TOLERANCE = {"rtol": 1e-10, "atol": 1e-12}
TEST_TIMEOUT = 120  # seconds: a hang fails the test instead of the whole run


@pytest.fixture(autouse=True)
def no_leftover_processes():
    yield
    leftover = multiprocessing.active_children()
    assert not leftover, f"processes left running: {leftover}"


@contextlib.contextmanager
def deadline(seconds: float):
    """Fail with TimeoutError after ``seconds`` (SIGALRM; a no-op off the main thread or
    without SIGALRM, where the launcher's own timeout still applies)."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"the test did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _data(shape: tuple[int, ...], seed: int = 0, size: int = STEPS * BATCH) -> TensorDataset:
    generator = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(size, *shape, generator=generator, dtype=torch.float64), torch.randint(0, 10, (size,), generator=generator))


def _lenet() -> nn.Module:
    torch.manual_seed(0)
    return torch_models.LeNet5().double()


def _resnet() -> nn.Module:
    torch.manual_seed(0)
    return torch_models.resnet18(width=4).double()


def _assert_same_step(ranks, expected, what: str, keys: str = "state") -> None:
    """Every rank's record of every step equals the expected record (loss, gradients and
    ``keys``: the whole state, or the parameters only)."""
    for rank, records in enumerate(ranks):
        assert len(records) == len(expected) == STEPS
        for step, (got, want) in enumerate(zip(records, expected), start=1):
            where = f"{what}, rank {rank}, step {step}"
            assert got.loss == pytest.approx(want.loss, rel=1e-12), where
            assert got.grads.keys() == want.grads.keys(), where
            for name in want.grads:
                torch.testing.assert_close(got.grads[name], want.grads[name], **TOLERANCE, msg=lambda m, n=name, w=where: f"{w}: gradient of {n}: {m}")
            names = want.state if keys == "state" else want.grads
            for name in names:
                torch.testing.assert_close(got.state[name], want.state[name], **TOLERANCE, msg=lambda m, n=name, w=where: f"{w}: {n} after the step: {m}")


def test_lenet5_two_processes_equal_one_process_on_the_whole_batch():
    """Shuffled, and 2 batches to an epoch: the third step starts a new epoch in a new order
    (``set_epoch``), the same in the processes' samplers and in the one-process run."""
    data, order = _data((1, 32, 32), size=2 * BATCH), {"shuffle": True, "seed": 5}
    with deadline(TEST_TIMEOUT):
        ranks = train_ddp(_lenet(), data, batch_size=BATCH, steps=STEPS, world_size=WORLD, timeout=TEST_TIMEOUT, **order)
    _assert_same_step(ranks, train_local(_lenet(), data, batch_size=BATCH, steps=STEPS, **order), "LeNet-5")


def test_resnet_with_sync_batchnorm_equals_one_process_on_the_whole_batch():
    """Running statistics included: they are those of the whole batch in every process."""
    data = _data((3, 16, 16))
    with deadline(TEST_TIMEOUT):
        ranks = train_ddp(_resnet(), data, batch_size=BATCH, steps=STEPS, world_size=WORLD, sync_batchnorm=True, timeout=TEST_TIMEOUT)
    _assert_same_step(ranks, train_local(_resnet(), data, batch_size=BATCH, steps=STEPS), "ResNet-18 with synchronised batch norm")


def _mean_of_halves(model: nn.Module, data: TensorDataset) -> list[StepRecord]:
    """What DDP computes without synchronised batch norm, in one process: each step, the
    gradient of each rank's half (normalised by that half's statistics), averaged, then the
    SGD step (lr 0.1, train_ddp's default). The halves are the DistributedSampler's:
    rank r takes samples r, r + 2, r + 4, ... of the batch."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    records = []
    for step in range(STEPS):
        optimizer.zero_grad()
        batch = range(step * BATCH, (step + 1) * BATCH)
        loss = 0.0
        for rank in range(WORLD):
            x, y = data[list(batch)[rank::WORLD]]
            half = F.cross_entropy(model(x), y) / WORLD
            half.backward()
            loss += half.item()
        grads = {name: p.grad.clone() for name, p in model.named_parameters()}
        optimizer.step()
        records.append(StepRecord(loss, grads, {n: p.detach().clone() for n, p in model.named_parameters()}))
    return records


def test_resnet_without_sync_batchnorm_takes_the_mean_of_the_halves_steps():
    """Per-process batch norm: each process normalises its 4 samples by their own mean and
    variance, so the step is not the whole batch's: the first gradients differ from the
    whole batch's by about their own norm (measured 0.98 to 1.14 normwise; asserted > 0.1).
    What DDP computes is exactly the mean of the two halves' gradients, each half on its
    own statistics (the running statistics then are rank 0's, broadcast by DDP at each
    forward: only the parameters are compared)."""
    data = _data((3, 16, 16))
    with deadline(TEST_TIMEOUT):
        ranks = train_ddp(_resnet(), data, batch_size=BATCH, steps=STEPS, world_size=WORLD, sync_batchnorm=False, timeout=TEST_TIMEOUT)
    whole = train_local(_resnet(), data, batch_size=BATCH, steps=STEPS)
    names = list(whole[0].grads)
    got, want = (torch.cat([record.grads[name].reshape(-1) for name in names]) for record in (ranks[0][0], whole[0]))
    difference = float((got - want).norm() / want.norm())
    assert difference > 0.1, f"per-process batch norm gave nearly the whole batch's gradient: normwise difference {difference:.2e}"
    _assert_same_step(ranks, _mean_of_halves(_resnet(), data), "ResNet-18 with per-process batch norm", keys="parameters")


def _torch_sync_batchnorm_on_cpu(rank: int, world_size: int) -> None:
    layer = nn.SyncBatchNorm(3)
    layer(torch.randn(4, 3, 2, 2))


def test_torch_sync_batchnorm_refuses_cpu_tensors():
    """Why ``CPUSyncBatchNorm`` exists: in PyTorch 2.13, ``nn.SyncBatchNorm`` in training,
    in a process group of 2, raises for CPU tensors. If this test fails, PyTorch has learnt
    to do it and ``convert_sync_batchnorm`` could use it on the CPU too."""
    with deadline(TEST_TIMEOUT), pytest.raises(WorkerError, match=r"ValueError: SyncBatchNorm expected input tensor to be on GPU"):
        run_processes(_torch_sync_batchnorm_on_cpu, WORLD, timeout=TEST_TIMEOUT)


def test_cpu_sync_batchnorm_is_batch_norm_in_one_process():
    """No process group: plain batch norm, same names, same running statistics."""
    torch.manual_seed(0)
    model = torch_models.resnet18(width=4).double()
    converted = convert_sync_batchnorm(copy.deepcopy(model), "cpu")
    assert sum(isinstance(m, CPUSyncBatchNorm) for m in converted.modules()) == sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 20
    assert not any(isinstance(m, nn.BatchNorm2d) for m in converted.modules())
    assert list(converted.state_dict()) == list(model.state_dict())
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(converted(x), model(x), rtol=0, atol=0)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(converted.state_dict()[name], value, rtol=0, atol=0, msg=name)


# --- uneven splits -------------------------------------------------------------------------


def test_uneven_batch_is_rejected_naming_batch_size_and_world_size():
    with pytest.raises(ValueError, match=r"train_ddp: argument 'batch_size' \(7\) must be a multiple of 'world_size' \(2\): DDP averages"):
        train_ddp(_lenet(), _data((1, 32, 32), size=14), batch_size=7, world_size=2)


def test_dataset_not_divisible_by_world_size_is_rejected():
    with pytest.raises(ValueError, match=r"the dataset's length \(9\) must be a multiple of 'world_size' \(2\): DistributedSampler would pad"):
        train_ddp(_lenet(), _data((1, 32, 32), size=9), batch_size=4, world_size=2)


def test_distributed_sampler_pads_by_repeating_samples():
    """Why uneven datasets are rejected rather than padded: the padding repeats samples."""
    shares = [list(DistributedSampler(range(9), num_replicas=2, rank=rank, shuffle=False)) for rank in range(2)]
    assert shares == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 0]]  # sample 0 twice


def test_train_ddp_checks_its_arguments():
    with pytest.raises(ValueError, match=r"argument 'steps' must be a positive int; got 0"):
        train_ddp(_lenet(), _data((1, 32, 32)), batch_size=BATCH, steps=0)
    with pytest.raises(ValueError, match=r"argument 'device' must be 'cpu' or 'cuda'; got 'tpu'"):
        train_ddp(_lenet(), _data((1, 32, 32)), batch_size=BATCH, device="tpu")
    with pytest.raises(ValueError, match=r"argument 'fn' and its 'args' must be picklable"):
        train_ddp(_lenet(), _data((1, 32, 32)), batch_size=BATCH, loss_fn=lambda out, y: F.cross_entropy(out, y))


# --- failures ----------------------------------------------------------------------------


class FailsInRank(nn.Module):
    """A model whose forward raises in one rank: the other rank goes on into DDP's
    gradient all-reduce and waits there for a peer that will never come."""

    def __init__(self, rank: int) -> None:
        super().__init__()
        self.rank = rank
        self.linear = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if dist.get_rank() == self.rank:
            raise ValueError(f"deliberate failure in the forward pass of rank {self.rank}")
        return self.linear(x)


def test_a_worker_that_raises_fails_the_run_with_its_error():
    data = TensorDataset(torch.randn(8, 4), torch.randint(0, 3, (8,)))
    started = time.monotonic()
    with deadline(TEST_TIMEOUT), pytest.raises(WorkerError) as caught:
        train_ddp(FailsInRank(1), data, batch_size=4, steps=2, timeout=TEST_TIMEOUT)
    error = caught.value
    assert error.rank == 1 and error.exception_type == "ValueError"
    assert "rank 1 of 2 failed: ValueError: deliberate failure in the forward pass of rank 1" in str(error)
    assert "in forward" in error.traceback and "raise ValueError" in error.traceback
    assert isinstance(error.__cause__, ValueError)
    assert time.monotonic() - started < TEST_TIMEOUT / 2  # reported, not timed out


def _dies_in_rank_1(rank: int, world_size: int) -> None:
    if rank == 1:
        os._exit(3)
    dist.barrier()  # rank 0 waits for rank 1, which is gone


def test_a_worker_that_dies_fails_the_run():
    with deadline(TEST_TIMEOUT), pytest.raises(WorkerError, match=r"rank 1 of 2 failed: ProcessDied: the process exited with code 3 without reporting"):
        run_processes(_dies_in_rank_1, 2, timeout=TEST_TIMEOUT)


def _sleeps(rank: int, world_size: int) -> None:
    time.sleep(600)


def test_a_run_past_its_timeout_raises_and_stops_the_workers():
    with deadline(TEST_TIMEOUT), pytest.raises(TimeoutError, match=r"rank\(s\) \[0, 1\] of 2 did not finish within the timeout of 3 s"):
        run_processes(_sleeps, 2, timeout=3)


def _rank_and_sum(rank: int, world_size: int) -> tuple[int, int, float]:
    total = torch.tensor([float(rank + 1)])
    dist.all_reduce(total)
    return rank, world_size, float(total)


def test_run_processes_returns_every_ranks_result_in_order():
    with deadline(TEST_TIMEOUT):
        assert run_processes(_rank_and_sum, 3, timeout=TEST_TIMEOUT) == [(0, 3, 6.0), (1, 3, 6.0), (2, 3, 6.0)]


@pytest.mark.skipif(torch.cuda.device_count() < WORLD, reason=f"needs {WORLD} GPUs: NCCL runs one process per GPU")
def test_lenet5_on_cuda_with_nccl_equals_one_process():
    data = _data((1, 32, 32))
    with deadline(TEST_TIMEOUT):
        ranks = train_ddp(_lenet(), data, batch_size=BATCH, steps=STEPS, world_size=WORLD, device="cuda", timeout=TEST_TIMEOUT)
    _assert_same_step(ranks, train_local(_lenet().cuda(), data, batch_size=BATCH, steps=STEPS), "LeNet-5 on CUDA")
