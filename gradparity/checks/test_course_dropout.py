"""A course's dropout, which draws its own mask (CS231n's ``dropout_forward(x, dropout_param)``):
PyTorch cannot drop the same units, so what the mask must be is checked without depending
on the learner's random numbers, in the course's words. The entry's generic checks compare
'test' mode, and 'train' mode keeping every unit, with PyTorch, and gradcheck the seeded
'train' mode; these check the drawn mask itself. Bounds that cannot flake, as in
``test_dropout_mask.py``."""

import numpy as np
import pytest

from ..implementation import NOT_IMPLEMENTED
from ..styles.cs231n import STYLE
from ..styles.cs231n.dropout import KEEP, LearnerDropout, learner_dropout

# A unit is kept with probability p: over 10**6 units the kept fraction strays from p by
# 0.005 or more with probability at most 2 exp(-2 * 10**6 * 0.005**2) = 2 exp(-50) < 1e-21
# (Hoeffding).
SHAPE = (1000, 1000)
BOUND = 0.005
SEED = 231
ENTRY = next(binding.entry for binding in STYLE.bindings() if binding.forward == "dropout_forward")


def learner(impl, entry, *, backward: bool = False) -> LearnerDropout:
    """The learner's dropout in the course's terms; skipped, as not implemented, where the
    implementation is not a CS231n one that defines it (``backward``: its backward too; the
    forward's mask is checked without it)."""
    impl.get(entry.forward_name, *([entry.backward_name] if backward else []))
    if impl.style != STYLE.name:  # an implementation of another style that happens to define it
        pytest.skip(f"{NOT_IMPLEMENTED}: {impl.label} is not checked in CS231n's style")
    return learner_dropout(impl.source)


def units(seed: int = 0) -> np.ndarray:
    """Inputs far from 0: a dropped unit is the only way to an output of 0."""
    return np.random.default_rng(seed).uniform(1.0, 2.0, SHAPE)


def kept_units(out, x: np.ndarray, says: str) -> np.ndarray:
    __tracebackhide__ = True
    if not isinstance(out, np.ndarray) or out.shape != x.shape:
        raise AssertionError(f"dropout_forward returned out of {getattr(out, 'shape', type(out).__name__)}, but should be x's shape {x.shape} ({says})")
    return out != 0


@pytest.mark.check("forward")
@pytest.mark.parametrize("entry", [ENTRY], ids=lambda e: e.name)
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_train_mode_keeps_a_fraction_p_of_the_units_scaled_by_1_over_p(impl, entry, keep):
    dropout = learner(impl, entry)
    x = units()
    out, _ = dropout.forward(x, keep, True, SEED)
    kept = kept_units(out, x, dropout.says(keep))
    fraction = kept.mean()
    if abs(fraction - keep) >= BOUND:
        hint = ""
        if abs(fraction - (1 - keep)) < BOUND:
            other = "drop" if dropout.meaning == KEEP else "keep"
            hint = (
                f"\n  hint: it keeps 1 - p of them, as if p were the probability to {other} a unit. Say what p means in "
                f"dropout_forward's docstring ('p: the probability of {other}ing each unit') if that is what your code does"
            )
        raise AssertionError(
            f"dropout_forward kept {fraction:.4f} of {kept.size} units in 'train' mode for {dropout.says(keep)}; "
            f"expected {keep} +- {BOUND}" + hint
        )
    scale = 1 / keep
    if not np.allclose(out[kept], x[kept] * scale, rtol=1e-12, atol=0):
        ratio = np.median(out[kept] / x[kept])
        raise AssertionError(
            f"dropout_forward scaled the kept units by {ratio:.4g}, but inverted dropout scales them by 1 / {keep:g} = {scale:.4g}, "
            f"the inverse of the keep probability ({dropout.says(keep)})\n  hint: mask = {dropout.mask_formula}, out = x * mask: "
            "on average out is then x, so that 'test' mode returns x unscaled"
        )


@pytest.mark.check("backward")
@pytest.mark.parametrize("entry", [ENTRY], ids=lambda e: e.name)
def test_backward_uses_the_forwards_mask(impl, entry):
    dropout = learner(impl, entry, backward=True)
    x, dout = units(), np.random.default_rng(1).standard_normal(SHAPE)
    out, cache = dropout.forward(x, 0.5, True, SEED)
    kept_units(out, x, dropout.says(0.5))
    assert dropout.backward is not None  # learner(backward=True) skipped otherwise
    dx = dropout.backward(dout, cache)
    expected = dout * (out / x)  # the forward's mask, with its scaling
    if not isinstance(dx, np.ndarray) or dx.shape != x.shape:
        raise AssertionError(f"dropout_backward returned dx of {getattr(dx, 'shape', type(dx).__name__)}, but should be x's shape {x.shape}")
    if not np.allclose(dx, expected, rtol=1e-12, atol=1e-300):
        differ = ~np.isclose(dx, expected, rtol=1e-12, atol=1e-300)
        raise AssertionError(
            f"dropout_backward: dx differs from dout * mask, the mask (and scaling) dropout_forward used, at {differ.mean():.1%} of "
            f"the units ({dropout.says(0.5)})\n  hint: keep the mask in the cache (cache = (dropout_param, mask)) and return "
            "dout * mask; drawing a new mask in the backward drops other units"
        )


@pytest.mark.check("forward")
@pytest.mark.parametrize("entry", [ENTRY], ids=lambda e: e.name)
def test_the_same_seed_gives_the_same_mask(impl, entry):
    dropout = learner(impl, entry)
    x = units()[:100]
    first, _ = dropout.forward(x, 0.5, True, SEED)
    np.random.rand(7)  # noqa: NPY002 -- the global generator moves on between the calls, as in a notebook
    second, _ = dropout.forward(x, 0.5, True, SEED)
    if not np.array_equal(first, second):
        raise AssertionError(
            f"dropout_forward dropped different units in two calls with dropout_param['seed'] = {SEED}\n  hint: "
            "if 'seed' in dropout_param: np.random.seed(dropout_param['seed']) before drawing the mask (the notebooks' "
            "gradient checks need the same mask in every call)"
        )


@pytest.mark.check("forward")
@pytest.mark.parametrize("entry", [ENTRY], ids=lambda e: e.name)
def test_without_a_seed_the_masks_differ(impl, entry):
    dropout = learner(impl, entry)
    x = units()[:10]  # 10**4 units: equal masks by chance with probability 2**-10000
    first, _ = dropout.forward(x, 0.5, True)
    second, _ = dropout.forward(x, 0.5, True)
    if np.array_equal(first, second):
        raise AssertionError("dropout_forward dropped the same units in two calls without a seed: a mask must be drawn anew each call")
