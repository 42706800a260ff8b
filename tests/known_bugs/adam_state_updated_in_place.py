"""Adam updating the moments inside the state it was given (exp_avg *= beta1): the values are
right, but the caller's state changes under it."""

from reference import *  # noqa: F403
from tests.known_bugs._optimizer_bugs import adam_step_with

BUG = {"layer": "adam", "checks": ["purity"]}

adam_step = adam_step_with(in_place=True)
