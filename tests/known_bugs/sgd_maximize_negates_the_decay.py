"""SGD's maximize negating the decayed gradient, -(g + weight_decay * p), where torch negates g
and then adds the decay (the decay still shrinks p)."""

from reference import *  # noqa: F403
from tests.known_bugs._optimizer_bugs import sgd

BUG = {"layer": "sgd", "checks": ["trajectory"]}

sgd_step = sgd(maximize_after_decay=True)
