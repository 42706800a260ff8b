"""Dense layers, activations, embedding and dropout: strategies, bad calls, registry entries."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import strategies as st

import torch_impl

from ..op_entry import FLOAT_DATA_ONLY, EdgeCase, ErrorInput, Feature, OpEntry, normal_array
from ..sample import Sample
from ..strategies import SEEDS, edge_or_range, enabled, make_array, shapes, value_kinds


@st.composite
def linear_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    on = enabled(features)
    ranks = {"min_dims": 0, "max_dims": 3} if on("x not 2-D") else {"min_dims": 1, "max_dims": 1}
    leading = draw(shapes(**ranks, max_side=3 if for_gradcheck else 4), label="leading shape")
    in_features = draw(edge_or_range(1, 6), label="in_features")
    out_features = draw(edge_or_range(1, 6), label="out_features")
    seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
    rng = np.random.default_rng(seed)
    bias = make_array(rng, (out_features,), values) if not on("bias=None") or draw(st.booleans(), label="bias") else None
    arrays = {"x": make_array(rng, (*leading, in_features), values), "weight": make_array(rng, (out_features, in_features), values), "bias": bias}
    return Sample(arrays, {}, seed, values)


def elementwise_samples(*, extra_values: tuple[str, ...] = (), has_kinks: bool = False, with_dim: bool = False):
    """``x`` of any shape (with a ``dim`` for softmax-like layers)."""

    @st.composite
    def samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
        shape = draw(shapes(min_dims=1, max_dims=4, max_side=4 if for_gradcheck else 5), label="shape")
        dims = st.integers(-len(shape), len(shape) - 1) if enabled(features)("dim") else st.just(-1)
        kwargs = {"dim": draw(dims, label="dim")} if with_dim else {}
        seed = draw(SEEDS, label="seed")
        values = draw(value_kinds(for_gradcheck, has_kinks=has_kinks, extra=extra_values), label="values")
        return Sample({"x": make_array(np.random.default_rng(seed), shape, values)}, kwargs, seed, values)

    return samples


@st.composite
def embedding_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    num_embeddings = draw(edge_or_range(1, 6), label="num_embeddings")
    dim = draw(edge_or_range(1, 5), label="embedding_dim")
    index_shape = draw(shapes(min_dims=1, max_dims=3, max_side=4), label="indices shape")
    index_dtype = draw(st.sampled_from(["int64", "int32", "uint8"]), label="indices dtype")
    # The padding row's gradient is zero by definition, not by calculus: gradcheck cannot have it.
    drawn = not for_gradcheck and enabled(features)("padding_idx")
    paddings = st.one_of(st.none(), st.integers(-num_embeddings, num_embeddings - 1)) if drawn else st.none()
    padding_idx = draw(paddings, label="padding_idx")
    seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
    rng = np.random.default_rng(seed)
    # Few rows, many lookups: repeated indices, whose gradients must add up.
    indices = rng.integers(0, num_embeddings, size=index_shape).astype(index_dtype)
    arrays = {"indices": indices, "weight": make_array(rng, (num_embeddings, dim), values)}
    return Sample(arrays, {"padding_idx": padding_idx}, seed, values)


@st.composite
def dropout_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    shape = draw(shapes(min_dims=1, max_dims=4, max_side=4 if for_gradcheck else 5), label="shape")
    p = draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 0.95)), label="p")
    training = draw(st.booleans(), label="training") if enabled(features)("eval mode") else True
    seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
    rng = np.random.default_rng(seed)
    # The mask is given, so that NumPy and PyTorch drop the same units.
    arrays = {"x": make_array(rng, shape, values), "mask": rng.random(shape) >= p}
    return Sample(arrays, {"p": p, "training": training}, seed, values)


DROPOUT_SIGNATURE = ("x", "p", "training", "mask")


def _float_input_errors() -> tuple[ErrorInput, ...]:
    return (ErrorInput("integer-typed input", (np.arange(6).reshape(2, 3),), {}, TypeError, "x"),)


ACTIVATION_HINTS = {
    "relu": "relu passes the gradient where x > 0 only (PyTorch's gradient at exactly 0 is 0).",
    "tanh": "The derivative is 1 - tanh(x)**2: use the saved output, not the input.",
    "sigmoid": "The derivative is s * (1 - s) with s the *output*; compute s without exp overflow (exp(-|x|) only).",
    "softmax": "Subtract the max along dim before exp; the backward is y * (dout - sum(dout * y, dim)).",
    "log_softmax": "Compute x - max - log(sum(exp(x - max))), never log(softmax(x)) (log 0 = -inf); backward: dout - softmax * sum(dout, dim).",
}


def _activation(name: str, *, extra_values=(), has_kinks=False, with_dim=False, stricter: dict[str, str] | None = None) -> OpEntry:
    errors = _float_input_errors()
    if with_dim:
        errors += (ErrorInput("dim out of range", (normal_array(2, 3),), {"dim": 2}, ValueError, "dim"),)
    return OpEntry(
        name=name,
        array_args=("x",),
        twin=getattr(torch_impl, name),
        samples=elementwise_samples(extra_values=extra_values, has_kinks=has_kinks, with_dim=with_dim),
        stricter_than_pytorch=stricter or {},
        features=(Feature("dim", "dim", lambda s: s.changed(dim=0)),) if with_dim else (),
        plain_call=lambda: Sample({"x": normal_array(3, 4)}, {"dim": -1} if with_dim else {}),
        error_inputs=errors,
        hints={"out": ACTIVATION_HINTS[name], "dx": ACTIVATION_HINTS[name]},
    )


ENTRIES: tuple[OpEntry, ...] = (
    OpEntry(
        name="linear",
        array_args=("x", "weight", "bias"),
        twin=torch_impl.linear,
        samples=linear_samples,
        features=(
            Feature("bias=None", "bias", lambda s: s.changed({"bias": None})),
            Feature("x not 2-D", probe=lambda s: s.changed({"x": normal_array(2, 3, 4)})),
        ),
        plain_call=lambda: Sample({"x": normal_array(3, 4), "weight": normal_array(2, 4), "bias": normal_array(2)}),
        error_inputs=(
            ErrorInput("x with the wrong in_features", (normal_array(2, 4), normal_array(3, 5)), {}, ValueError, "x"),
            ErrorInput("weight that is not 2-D", (normal_array(2, 4), normal_array(3, 4, 1)), {}, ValueError, "weight"),
            ErrorInput("bias of the wrong length", (normal_array(2, 4), normal_array(3, 4), normal_array(4)), {}, ValueError, "bias"),
            ErrorInput("integer-typed input", (np.ones((2, 4), dtype=np.int64), normal_array(3, 4)), {}, TypeError, "x"),
        ),
        hints={
            "dweight": "dweight = dout.T @ x with every leading axis of x flattened into the batch.",
            "dbias": "dbias sums dout over every leading axis (the batch), it is not dout itself or its mean.",
        },
    ),
    replace(
        _activation("relu", has_kinks=True, stricter={"integer-typed input": FLOAT_DATA_ONLY}),
        # relu'(0) is 0 in PyTorch: inputs exactly at the kink, in every profile.
        edge_cases=(
            EdgeCase("inputs exactly 0", lambda: Sample({"x": make_array(np.random.default_rng(0), (4, 5), "integers")}, {}, 0, "integers")),
            EdgeCase("all inputs 0", lambda: Sample({"x": np.zeros((2, 3, 4))}, {}, 0, "zeros")),
        ),
    ),
    _activation("tanh", extra_values=("large",), stricter={"integer-typed input": FLOAT_DATA_ONLY}),
    _activation("sigmoid", extra_values=("large",), stricter={"integer-typed input": FLOAT_DATA_ONLY}),
    _activation("softmax", extra_values=("large",), with_dim=True),
    _activation("log_softmax", extra_values=("large",), with_dim=True),
    OpEntry(
        name="embedding",
        array_args=("indices", "weight"),
        grad_args=("weight",),
        twin=torch_impl.embedding,
        samples=embedding_samples,
        stricter_than_pytorch={"float indices": "the twin casts indices to int64, so that uint8 and int32 indices work (F.embedding itself rejects floats)"},
        features=(Feature("padding_idx", "padding_idx", lambda s: s.changed(padding_idx=1)),),
        plain_call=lambda: Sample({"indices": np.array([[0, 2], [1, 2]]), "weight": normal_array(4, 3)}, {"padding_idx": None}),
        error_inputs=(
            ErrorInput("index out of range", (np.array([0, 5]), normal_array(5, 2)), {}, ValueError, "indices"),
            ErrorInput("float indices", (np.array([0.0, 1.0]), normal_array(5, 2)), {}, TypeError, "indices"),
            ErrorInput("padding_idx out of range", (np.array([0, 1]), normal_array(5, 2)), {"padding_idx": 5}, ValueError, "padding_idx"),
        ),
        hints={
            "dweight": "Repeated indices must add up (np.add.at), dweight[indices] += dout keeps one of them; "
            "the padding_idx row gets no gradient.",
        },
    ),
    OpEntry(
        name="dropout",
        array_args=("x", "mask"),
        grad_args=("x",),
        signature=DROPOUT_SIGNATURE,
        twin=torch_impl.dropout,
        samples=dropout_samples,
        stricter_than_pytorch={"a float mask": "the twin multiplies by the mask, whatever its dtype; the API's mask is boolean (True = kept)"},
        features=(Feature("eval mode", "training", lambda s: s.changed(training=False)),),
        plain_call=lambda: Sample({"x": normal_array(3, 4), "mask": normal_array(3, 4) > 0}, {"p": 0.5, "training": True}),
        error_inputs=(
            ErrorInput("p above 1", (normal_array(2, 3),), {"p": 1.5}, ValueError, "p"),
            ErrorInput("a float mask", (normal_array(2, 3), 0.5, True, np.ones((2, 3))), {}, TypeError, "mask"),
            ErrorInput("a mask of another shape", (normal_array(2, 3), 0.5, True, np.ones((3, 2), dtype=bool)), {}, ValueError, "mask"),
            ErrorInput("integer-typed input", (np.ones((2, 3), dtype=np.int64),), {}, TypeError, "x"),
        ),
        hints={
            "out": "Kept units scale by 1 / (1 - p) in training (inverted dropout); outside training the layer is the identity.",
            "dx": "dx = dout * mask / (1 - p) in training, dout in eval.",
        },
    ),
)
