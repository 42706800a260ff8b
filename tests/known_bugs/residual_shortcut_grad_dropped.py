"""BasicBlock whose backward forgets the shortcut: the gradient of the sum goes down the
main branch only, so dx misses the identity's dout (or the projection's dx) and the
projection's parameters get zero gradients. The forward is right."""

import numpy as np

import reference
from reference import *  # noqa: F403
from reference.seams import residual_blocks_with

BUG = {"layer": "basic_block", "checks": ["backward", "gradcheck"]}


def _main_branch_only(dout, cache):
    dsum = reference.relu_backward(dout, cache)
    return dsum, np.zeros_like(dsum)


basic_block_forward, basic_block_backward = residual_blocks_with("basic_block", merge_backward=_main_branch_only)
