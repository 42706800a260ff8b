"""SGD adding weight_decay * p after the momentum buffer, not to the gradient that feeds it."""

from reference import *  # noqa: F403
from tests.known_bugs._optimizer_bugs import sgd

BUG = {"layer": "sgd", "checks": ["trajectory"]}

sgd_step = sgd(decay_after_momentum=True)
