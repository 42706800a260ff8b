"""GRU's update written h' = z * n + (1 - z) * h; PyTorch's is (1 - z) * n + z * h."""

from reference import *  # noqa: F403
from reference.seams import GRUCell, StepGrads, StepResult
from tests.known_bugs._recurrent_bugs import single_state_cell_forward_with

BUG = {"layer": "gru_cell", "checks": ["forward", "backward"]}


class SwappedUpdate(GRUCell):
    """The same cell with z replaced by 1 - z: flip the z gate's pre-activation."""

    def step(self, input_proj, hidden_proj, h, c):
        result = super().step(_flip_z(input_proj), _flip_z(hidden_proj), h, c)
        return StepResult(result.h, None, result.saved)

    def step_backward(self, dh_next, dc_next, saved, weight_hh):
        grads = super().step_backward(dh_next, dc_next, saved, _flip_z(weight_hh.T).T)
        return StepGrads(_flip_z(grads.d_input_proj), _flip_z(grads.d_hidden_proj), grads.dh, None)


def _flip_z(gates):
    """sigmoid(-a) = 1 - sigmoid(a): negate the middle (z) chunk."""
    hidden = gates.shape[1] // 3
    flipped = gates.copy()
    flipped[:, hidden : 2 * hidden] *= -1
    return flipped


gru_cell_forward = single_state_cell_forward_with(SwappedUpdate(), "gru_cell")
