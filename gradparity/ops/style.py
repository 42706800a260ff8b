"""Neural style transfer: the Gram matrix and total variation; strategies, bad calls, entries."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import torch_impl

from ..op_entry import FLOAT_DATA_ONLY, EdgeCase, ErrorInput, OpEntry, Tolerance, normal_array
from ..sample import Sample
from ..strategies import SEEDS, edge_or_range, make_array, shapes, value_kinds

# The Gram matrix sums C * H * W products; total variation sums every neighbour difference:
# float32 sums of up to a few hundred terms in another order than PyTorch's.
FLOAT32_SUMS = Tolerance(1e-5, 1e-5, "float32 sums of up to a few hundred terms, added in another order than PyTorch")


@st.composite
def gram_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    shape = draw(st.tuples(edge_or_range(1, 3), edge_or_range(1, 4), edge_or_range(1, 4), edge_or_range(1, 4)), label="features shape")
    seed, values = draw(SEEDS, label="seed"), draw(value_kinds(for_gradcheck), label="values")
    return Sample({"features": make_array(np.random.default_rng(seed), shape, values)}, {}, seed, values)


@st.composite
def total_variation_samples(draw, *, for_gradcheck: bool = False, features: frozenset[str] | None = None) -> Sample:
    shape = draw(shapes(min_dims=2, max_dims=4, max_side=4 if for_gradcheck else 6), label="img shape")
    seed = draw(SEEDS, label="seed")
    # |difference| has a kink at 0: gradcheck draws values no two of which are equal.
    values = draw(value_kinds(for_gradcheck, has_kinks=True), label="values")
    return Sample({"img": make_array(np.random.default_rng(seed), shape, values)}, {}, seed, values)


ENTRIES: tuple[OpEntry, ...] = (
    OpEntry(
        name="gram_matrix",
        array_args=("features",),
        outputs=("gram",),
        twin=torch_impl.gram_matrix,
        samples=gram_samples,
        stricter_than_pytorch={"integer-typed features": FLOAT_DATA_ONLY},
        error_inputs=(
            ErrorInput("3-D features", (normal_array(3, 4, 4),), {}, ValueError, "features"),
            ErrorInput("integer-typed features", (np.ones((1, 2, 3, 3), dtype=np.int64),), {}, TypeError, "features"),
        ),
        tolerances={"float32": FLOAT32_SUMS},
        hints={
            "gram": "gram = F @ F.T / (C * H * W) per sample, F the (C, H*W) feature matrix.",
            "dfeatures": "F appears twice in F @ F.T: dF = (dG + dG.T) @ F / (C * H * W).",
        },
    ),
    OpEntry(
        name="total_variation",
        array_args=("img",),
        outputs=("loss",),
        twin=torch_impl.total_variation,
        samples=total_variation_samples,
        stricter_than_pytorch={"integer-typed img": FLOAT_DATA_ONLY},
        error_inputs=(
            ErrorInput("1-D img", (normal_array(5),), {}, ValueError, "img"),
            ErrorInput("integer-typed img", (np.ones((2, 3, 3), dtype=np.int64),), {}, TypeError, "img"),
        ),
        tolerances={"float32": FLOAT32_SUMS},
        # |d|'(0) is 0 in PyTorch: equal neighbours, in every profile.
        edge_cases=(
            EdgeCase("equal neighbours", lambda: Sample({"img": make_array(np.random.default_rng(0), (2, 4, 5), "ties")}, {}, 0, "ties")),
            EdgeCase("a constant image", lambda: Sample({"img": np.full((3, 4), 0.25)}, {}, 0, "constant")),
        ),
        hints={
            "loss": "The sum of |differences| of vertical and horizontal neighbours (absolute values, not squares).",
            "dimg": "Each difference sends sign(difference) * dloss to one pixel and its negative to the other.",
        },
    ),
)
