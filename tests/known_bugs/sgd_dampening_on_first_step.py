"""SGD with the first momentum buffer dampened, (1 - dampening) * g, where torch starts it at g."""

from reference import *  # noqa: F403
from tests.known_bugs._optimizer_bugs import sgd

BUG = {"layer": "sgd", "checks": ["trajectory"]}

sgd_step = sgd(dampen_first_step=True)
