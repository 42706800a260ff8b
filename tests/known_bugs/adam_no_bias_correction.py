"""Adam without bias correction: m and v used as they are, too small in the first steps."""

from reference import *  # noqa: F403
from tests.known_bugs._optimizer_bugs import adam_step_with

BUG = {"layer": "adam", "checks": ["trajectory"]}

adam_step = adam_step_with(bias_correction=False)
