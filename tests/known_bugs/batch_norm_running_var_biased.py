"""batch_norm updating running_var with the biased batch variance (PyTorch uses the
unbiased one, n / (n - 1) times larger, for the running estimate)."""

from reference import *  # noqa: F403
from tests.known_bugs._batch_norm_bugs import batch_norm_updating_running_stats, biased, standard_update

BUG = {"layer": "batch_norm", "checks": ["forward"]}

batch_norm_forward = biased(batch_norm_updating_running_stats(standard_update))
