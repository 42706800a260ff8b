"""SGD ignoring nesterov=True: the plain momentum step p -= lr * buf, not p -= lr * (g + momentum * buf)."""

from reference import *  # noqa: F403
from tests.known_bugs._optimizer_bugs import sgd

BUG = {"layer": "sgd", "checks": ["trajectory"]}

sgd_step = sgd(nesterov_as_momentum=True)
