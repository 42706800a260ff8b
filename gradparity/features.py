"""Which optional features of a layer an implementation supports.

A learner's first conv2d takes int ``stride`` and ``padding`` only; checking it on pairs,
``'same'``, dilation and groups buries its one real bug under TypeErrors. So each entry
names its optional features (``op_entry.Feature``), and an implementation is judged on
those it supports: a feature whose parameter its forward does not take is left at the
API's default, and so is one whose probe (a tiny call using it) raises. What was left
out, and why, is reported; ``--impl-strict`` (``--full-api``) draws every feature.
"""

from __future__ import annotations

import warnings

from . import api
from .contract import UNJUDGED
from .layer_calls import draw_upstream, run_backward, run_forward
from .op_entry import Feature, OpEntry
from .sample import Sample


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _call_pair(entry: OpEntry, forward, backward, sample: Sample) -> str | None:
    """None if the pair runs on ``sample``; else which function raised what."""
    function = entry.forward_name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outputs, cache = run_forward(entry, forward, sample, contract=UNJUDGED)
            if backward is not None:
                function = entry.backward_name
                run_backward(entry, backward, draw_upstream(entry, sample, outputs), cache, contract=UNJUDGED, sample=sample)
    except Exception as error:  # a learner's code may raise anything
        return f"{function} raised {_first_line(error)}"
    return None


def _missing_parameter(entry: OpEntry, forward, feature: Feature) -> str | None:
    if feature.parameter is None:
        return None
    position = api.parameters(entry.forward_name).index(feature.parameter)
    if position < api.positional_capacity(forward):
        return None
    return f"{entry.forward_name} takes no '{feature.parameter}' argument"


def unsupported_features(entry: OpEntry, forward, backward) -> dict[str, str]:
    """``{feature name: why it is left out}`` for the implementation's pair."""
    missing = {f.name: reason for f in entry.features if (reason := _missing_parameter(entry, forward, f))}
    probed = [f for f in entry.features if f.name not in missing and f.probe is not None]
    if not probed or entry.plain_call is None:
        return missing
    plain = entry.plain_call()
    if _call_pair(entry, forward, backward, plain) is not None:
        # The plain call fails already: nothing to tell features apart by. Every feature
        # stays in, and the checks report what goes wrong.
        return missing
    for feature in probed:
        assert feature.probe is not None
        problem = _call_pair(entry, forward, backward, feature.probe(plain))
        if problem is not None:
            missing[feature.name] = problem
    return {f.name: missing[f.name] for f in entry.features if f.name in missing}  # in the entry's order
