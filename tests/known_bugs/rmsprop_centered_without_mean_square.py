"""Centered RMSprop keeping the gradient's running mean but not subtracting its square:
sqrt(v) instead of sqrt(v - mean**2)."""

from reference import *  # noqa: F403
from tests.known_bugs._optimizer_bugs import rmsprop

BUG = {"layer": "rmsprop", "checks": ["trajectory"]}

rmsprop_step = rmsprop(centered_without_mean=True)
