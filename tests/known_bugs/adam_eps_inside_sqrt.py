"""Adam with eps inside the square root, sqrt(v_hat + eps) instead of sqrt(v_hat) + eps: it shows
where v is small (gradients of 1e-6, or eps of 1e-3)."""

from reference import *  # noqa: F403
from tests.known_bugs._optimizer_bugs import adam_step_with

BUG = {"layer": "adam", "checks": ["trajectory"]}

adam_step = adam_step_with(eps_inside_sqrt=True)
