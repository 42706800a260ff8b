"""batch_norm's running statistics with Keras's momentum convention,
running = momentum * running + (1 - momentum) * batch; PyTorch's is the reverse."""

from reference import *  # noqa: F403
from tests.known_bugs._batch_norm_bugs import batch_norm_updating_running_stats

BUG = {"layer": "batch_norm", "checks": ["forward"]}


def _keras_update(running, batch, momentum):
    return momentum * running + (1 - momentum) * batch


batch_norm_forward = batch_norm_updating_running_stats(_keras_update)
