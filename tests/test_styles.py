"""Style detection: from the names and parameters a module defines, and said why."""

from types import ModuleType

import reference
from gradparity import styles
from gradparity.implementation import load_one

from .test_plugin import FIXTURES


def module_with(**functions) -> ModuleType:
    module = ModuleType("learner")
    for name, function in functions.items():
        setattr(module, name, function)
    return module


def test_the_reference_and_api_style_files_are_spec():
    assert styles.detect(reference)[0] == styles.SPEC
    assert styles.detect(load_one(str(FIXTURES / "learner_conv.py")))[0] == styles.SPEC


def test_a_course_module_is_detected_and_the_reason_names_its_functions():
    def conv_forward(A_prev, W, b, hparameters): ...

    def pool_forward(A_prev, hparameters, mode="max"): ...

    def affine_forward(x, w, b): ...

    name, why = styles.detect(module_with(conv_forward=conv_forward, pool_forward=pool_forward))
    assert name == "dls" and "conv_forward(A_prev, W, b, hparameters)" in why and "Deep Learning Specialization" in why
    assert styles.detect(module_with(affine_forward=affine_forward))[0] == "cs231n"


def test_same_names_with_the_api_signature_stay_spec():
    """DLS, CS231n and the API share names (rnn_cell_forward, linear_forward, ...): the
    parameters decide."""

    def rnn_cell_forward(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"): ...

    def linear_forward(x, weight, bias=None): ...

    assert styles.detect(module_with(rnn_cell_forward=rnn_cell_forward, linear_forward=linear_forward))[0] == styles.SPEC
