"""RMSprop with eps inside the square root, sqrt(v + eps) instead of sqrt(v) + eps."""

from reference import *  # noqa: F403
from tests.known_bugs._optimizer_bugs import rmsprop

BUG = {"layer": "rmsprop", "checks": ["trajectory"]}

rmsprop_step = rmsprop(eps_inside_sqrt=True)
