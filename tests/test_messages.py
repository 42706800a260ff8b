"""What a learner reads: the first time step at which a sequence differs, hints for the
classic causes of wrong shapes and of exceptions in their code."""

import numpy as np
import pytest

from gradparity.assertions import assert_array_like, assert_close, shape_hint
from gradparity.layer_calls import add_hint
from gradparity.op_entry import DEFAULT_TOLERANCES
from gradparity.registry import BY_NAME
from gradparity.sample import Sample


def test_a_sequence_mismatch_names_the_first_differing_time_step():
    expected = np.zeros((5, 2, 3))
    actual = expected.copy()
    actual[3, 1, 2] = actual[4, 0, 0] = 1.0
    with pytest.raises(AssertionError, match=r"first differs at time step t = 3 \(of 5, counting from 0\)"):
        assert_close(BY_NAME["lstm"], "output", actual, expected, Sample({}), DEFAULT_TOLERANCES["float64"])


def test_a_final_state_mismatch_names_the_layer_and_direction():
    expected = np.zeros((4, 2, 3))  # 2 layers x 2 directions
    actual = expected.copy()
    actual[3] = 1.0
    sample = Sample({}, {"bidirectional": True})
    with pytest.raises(AssertionError, match=r"first differs at layer 1 \(the reverse direction\)"):
        assert_close(BY_NAME["gru"], "h_n", actual, expected, sample, DEFAULT_TOLERANCES["float64"])


def test_shape_hints_name_the_classic_causes():
    assert "[p:-p] is empty when p = 0" in shape_hint((2, 3, 0, 0), (2, 3, 4, 4))
    assert "H and W" in shape_hint((2, 3, 5, 4), (2, 3, 4, 5))
    assert "not summed over the batch" in shape_hint((6, 4), (4,))
    assert shape_hint((2, 3), (3, 3)) == ""
    with pytest.raises(AssertionError, match="hint: an axis of length 0"):
        assert_array_like(BY_NAME["conv2d"], "dx", np.zeros((1, 1, 0, 0)), np.zeros((1, 1, 2, 2)), Sample({}))


def test_exceptions_in_learner_code_get_a_hint():
    error = NameError("name 'W1' is not defined")
    add_hint(error)
    assert "a global of another cell" in error.__notes__[0]
    division = TypeError("'float' object cannot be interpreted as an integer")
    add_hint(division)
    assert "use // or int()" in division.__notes__[0]
    unrelated = TypeError("unsupported operand")
    add_hint(unrelated)
    assert not getattr(unrelated, "__notes__", [])
