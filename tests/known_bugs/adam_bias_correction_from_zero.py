"""Adam's bias correction counted from t = 0 (1 - beta**(t - 1)): the first step divides by zero."""

from reference import *  # noqa: F403
from tests.known_bugs._optimizer_bugs import adam_step_with

BUG = {"layer": "adam", "checks": ["trajectory"]}

adam_step = adam_step_with(count_from_zero=True)
