"""BasicBlock whose batch norms stay in eval mode when training=True: they normalise with
the running statistics instead of the batch's, and never update them (the flag is not
passed down to the layers)."""

import reference
from reference import *  # noqa: F403
from reference.seams import residual_blocks_with

BUG = {"layer": "basic_block", "checks": ["forward", "backward"]}


def _batch_norm_in_eval_mode(x, weight, bias, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    return reference.batch_norm_forward(x, weight, bias, running_mean, running_var, False, momentum, eps)


basic_block_forward, basic_block_backward = residual_blocks_with("basic_block", batch_norm_forward=_batch_norm_in_eval_mode)
