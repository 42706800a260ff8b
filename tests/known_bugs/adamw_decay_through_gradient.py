"""AdamW written as Adam with L2: weight_decay * p added to the gradient (and so divided by
sqrt(v)), instead of the decoupled p *= 1 - lr * weight_decay."""

from reference import *  # noqa: F403
from tests.known_bugs._optimizer_bugs import adamw_step_with

BUG = {"layer": "adamw", "checks": ["trajectory"]}

adamw_step = adamw_step_with(decoupled=False)
