"""Dropout's drawn mask (mask=None): the one check that cannot compare with PyTorch unit
for unit, since the two draw different random numbers. Checked statistically instead,
with bounds that cannot flake."""

import numpy as np
import pytest

from ..registry import BY_NAME

pytestmark = pytest.mark.check("forward")
UNITS = 1_000_000
# Hoeffding: the kept fraction of n independent units strays from 1 - p by 0.005 or more
# with probability at most 2 exp(-2 n 0.005**2) = 2 exp(-50) < 1e-21.
BOUND = 0.005


@pytest.mark.parametrize("entry", [BY_NAME["dropout"]], ids=lambda e: e.name)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_drawn_mask_keeps_about_one_minus_p(impl, entry, p):
    forward, backward = impl.get(entry.forward_name, entry.backward_name)
    x = np.ones(UNITS)
    out, cache = forward(x, p, True, None)
    kept = out != 0
    assert abs(kept.mean() - (1 - p)) < BOUND, f"dropout: kept {kept.mean():.4f} of the units for p={p}, expected about {1 - p}"
    np.testing.assert_allclose(out[kept], 1 / (1 - p), rtol=1e-12, err_msg="dropout: kept units must scale by 1 / (1 - p)")
    dx = backward(np.ones(UNITS), cache)
    assert np.array_equal(dx, out), "dropout: the backward pass must use the forward's mask and scale"


@pytest.mark.parametrize("entry", [BY_NAME["dropout"]], ids=lambda e: e.name)
def test_drawn_masks_differ_between_calls(impl, entry):
    forward = impl.get(entry.forward_name)
    first, _ = forward(np.ones(10_000), 0.5, True, None)
    second, _ = forward(np.ones(10_000), 0.5, True, None)
    # Equal masks by chance: probability 2**-10000.
    assert not np.array_equal(first, second), "dropout: a drawn mask must be random, not the same each call"

