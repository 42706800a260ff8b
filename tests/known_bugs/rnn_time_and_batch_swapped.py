"""A learner's RNN that reads a time-first input as batch-first: ``batch, steps, _ =
x.shape`` for an ``x`` of shape (T, N, I). When T == N nothing shows; otherwise it runs
the wrong number of steps and returns an output of the wrong shape. One layer, one
direction, no lengths: built on the public ``rnn_cell`` pair."""

import numpy as np

import reference
from reference import *  # noqa: F403

BUG = {"layer": "rnn", "checks": ["forward"]}


def rnn_forward(x, h0, params):
    batch, steps, _ = x.shape  # the bug: x is (T, N, I), time first
    hidden = params["weight_hh_l0"].shape[1]
    h = np.zeros((x.shape[1], hidden), dtype=x.dtype) if h0 is None else h0[0]
    biases = (params.get("bias_ih_l0"), params.get("bias_hh_l0"))
    output, caches = np.zeros((steps, batch, hidden), dtype=x.dtype), []
    for t in range(steps):
        h, cache = reference.rnn_cell_forward(x[t], h, params["weight_ih_l0"], params["weight_hh_l0"], *biases)
        output[t], caches = h, [*caches, cache]
    return output, h[None], (caches, h0 is None, biases[0] is not None)


def rnn_backward(doutput, dh_n, cache):
    caches, no_h0, has_bias = cache
    dh = np.zeros_like(doutput[0]) if dh_n is None else dh_n[0].copy()
    dx, grads = [], {}
    for t in reversed(range(len(caches))):
        if doutput is not None:
            dh = dh + doutput[t]
        dxt, dh, *step_grads = reference.rnn_cell_backward(dh, caches[t])
        dx.insert(0, dxt)
        for name, grad in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), step_grads):
            if grad is not None:
                grads[name] = grads.get(name, 0) + grad
    return np.stack(dx), None if no_h0 else dh[None], grads
