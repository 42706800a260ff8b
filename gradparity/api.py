"""The layer API as data: its names, their signatures, and the API name closest to a
name a learner used instead (``conv_forward`` -> ``conv2d_forward``).

The shipped ``reference`` is the API's canonical implementation (SPEC v1 and v2), so the
names and signatures are read off it. This module imports NumPy only: the plug-in and the
command line use it before anything heavy is loaded.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from functools import cache, lru_cache

import reference

SUFFIXES = ("_forward", "_backward")

# Names the courses use for the same layers (CS231n layers.py / rnn_layers.py, the Deep
# Learning Specialization's assignments): the closest API layer is not always the nearest
# spelling (affine is linear; a pool is either max or average pooling).
COURSE_ALIASES: dict[str, tuple[str, ...]] = {
    "affine": ("linear",),
    "temporal_affine": ("linear",),
    "linear_activation": ("linear", "relu", "sigmoid"),
    "conv": ("conv2d",),
    "conv_fast": ("conv2d",),
    "conv_naive": ("conv2d",),
    "pool": ("max_pool2d", "avg_pool2d"),
    "max_pool": ("max_pool2d",),
    "max_pool_naive": ("max_pool2d",),
    "max_pool_fast": ("max_pool2d",),
    "avg_pool": ("avg_pool2d",),
    "batchnorm": ("batch_norm",),
    "spatial_batchnorm": ("batch_norm",),
    "layernorm": ("layer_norm",),
    "spatial_groupnorm": ("group_norm",),
    "groupnorm": ("group_norm",),
    "softmax_loss": ("cross_entropy",),
    "svm_loss": ("cross_entropy",),
    "temporal_softmax_loss": ("cross_entropy",),
    "compute_cost": ("binary_cross_entropy_with_logits", "cross_entropy"),
    "word_embedding": ("embedding",),
    "rnn_step": ("rnn_cell",),
    "rnn_cell": ("rnn_cell",),
    "lstm_step": ("lstm_cell",),
    "gru_step": ("gru_cell",),
    "dropout": ("dropout",),
    "gram": ("gram_matrix",),
    "compute_layer_style_cost": ("gram_matrix",),
    "gram_matrix": ("gram_matrix",),
}


@cache
def layer_names() -> tuple[str, ...]:
    """Every layer of the API: the names ``NAME`` with both ``NAME_forward`` and ``NAME_backward``."""
    forwards = {name[: -len("_forward")] for name in reference.__all__ if name.endswith("_forward")}
    return tuple(sorted(name for name in forwards if f"{name}_backward" in reference.__all__))


@cache
def optimizer_names() -> tuple[str, ...]:
    """Every optimizer of the API (SPEC v2): the names ``NAME`` of the ``NAME_step`` functions."""
    return tuple(sorted(name.removesuffix("_step") for name in reference.__all__ if name.endswith("_step")))


@cache
def function_names() -> frozenset[str]:
    layers = {f"{layer}{suffix}" for layer in layer_names() for suffix in SUFFIXES}
    return frozenset(layers | {f"{name}_step" for name in optimizer_names()})


@cache
def signature(function_name: str) -> inspect.Signature:
    """The API signature of ``function_name`` (``conv2d_forward``, ...), without annotations."""
    full = inspect.signature(getattr(reference, function_name))
    plain = [p.replace(annotation=inspect.Parameter.empty) for p in full.parameters.values()]
    return full.replace(parameters=plain, return_annotation=inspect.Signature.empty)


@cache
def parameters(function_name: str) -> tuple[str, ...]:
    """The API's parameter names of ``function_name``, in order."""
    return tuple(signature(function_name).parameters)


def default(function_name: str, parameter: str):
    return signature(function_name).parameters[parameter].default


@lru_cache(maxsize=4096)  # asked on every example; a function's signature does not change
def positional_capacity(function: Callable) -> float:
    """How many positional arguments ``function`` takes (infinite with ``*args``)."""
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin or C function without a signature
        return float("inf")
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return float("inf")
    return sum(p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params)


def split(name: str) -> tuple[str, str]:
    """``('conv', '_forward')`` for ``conv_forward``; ``(name, '')`` without a suffix."""
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def closest(name: str) -> list[str]:
    """The API names a learner most likely meant by ``name`` (best first; may be empty)."""
    stem, suffix = split(name)
    suffixes = (suffix,) if suffix else SUFFIXES[:1]
    aliased = COURSE_ALIASES.get(stem.lower())
    if aliased:
        return [f"{layer}{s}" for layer in aliased for s in suffixes]
    if suffix:
        return [f"{layer}{suffix}" for layer in difflib.get_close_matches(stem.lower(), layer_names(), n=2, cutoff=0.6)]
    return [f"{layer}_forward" for layer in difflib.get_close_matches(stem.lower(), layer_names(), n=1, cutoff=0.75)]


def looks_like_a_layer(name: str) -> bool:
    """Whether a function name looks like part of a layer (course names included)."""
    stem, suffix = split(name)
    return bool(suffix) or stem.lower() in COURSE_ALIASES or bool(closest(name))
