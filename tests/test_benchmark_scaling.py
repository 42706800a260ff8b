"""The scaling sweep's definition (benchmarks/scaling.py), checked without timing it: the
sweep runs only with ``pytest --benchmark-only -m scaling``, so this keeps it from rotting."""

import math

import numpy as np
import pytest
import torch

import reference
from benchmarks import scaling

RANGES = {"batch": (1, 64), "image": (8, 128), "channels": (16, 256), "sequence": (10, 400)}
# How the work grows with each dimension, per layer: conv2d and the LSTM multiply channels
# by channels (weights are C x C), pooling and batch norm touch each element once.
WORK_EXPONENT = {
    ("conv2d", "batch"): 1, ("conv2d", "image"): 2, ("conv2d", "channels"): 2,
    ("max_pool2d", "batch"): 1, ("max_pool2d", "image"): 2, ("max_pool2d", "channels"): 1,
    ("batch_norm", "batch"): 1, ("batch_norm", "image"): 2, ("batch_norm", "channels"): 1,
    ("lstm", "batch"): 1, ("lstm", "sequence"): 1, ("lstm", "channels"): 2,
}


@pytest.mark.parametrize("dimension", list(RANGES))
def test_each_dimension_spans_its_range_in_a_few_log_spaced_points(dimension):
    points = scaling.POINTS[dimension]
    assert (points[0], points[-1]) == RANGES[dimension]
    assert 4 <= len(points) <= 6
    steps = [later / earlier for earlier, later in zip(points, points[1:])]
    assert all(2 <= step <= 4 for step in steps), steps  # about even on a log axis
    assert scaling.BASE[dimension] in points  # the sweeps of a layer cross at the base


@pytest.mark.parametrize(("layer", "dimension"), list(WORK_EXPONENT))
def test_only_the_swept_dimension_changes(layer, dimension):
    """The work grows with the swept value alone, by the layer's exponent: every other
    dimension stays at the base."""
    points = [p for p in scaling.SWEEP if (p.layer, p.dimension) == (layer, dimension)]
    first = points[0]
    for point in points[1:]:
        exponent = math.log(point.work / first.work) / math.log(point.value / first.value)
        assert exponent == pytest.approx(WORK_EXPONENT[layer, dimension]), point.workload.name


@pytest.mark.parametrize("point", [p for p in scaling.SWEEP if p.value == scaling.POINTS[p.dimension][0]], ids=lambda p: p.workload.name)
def test_the_smallest_points_compute_the_same_on_both_backends(point):
    """Both sides draw the same inputs from the same seed: one problem, two backends."""
    ours = np.asarray(point.workload.numpy(reference, np.random.default_rng(0))())
    with torch.no_grad():
        theirs = point.workload.torch("cpu", np.random.default_rng(0))().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
