"""Helpers for the residual-block known bugs: the reference blocks with one piece swapped."""

from __future__ import annotations

from unittest import mock

from reference import residual

# The reference's own pieces, for replacements that wrap them.
ORIGINAL_BOTTLENECK_LAYOUT = residual.bottleneck_layout


def blocks_with(kind: str, **pieces):
    """``(NAME_forward, NAME_backward)`` of block ``kind`` ('basic_block' or 'bottleneck')
    running the reference with ``pieces`` (names in ``reference.residual``, e.g.
    ``_merge_forward``) replaced, for the duration of each call only: importing a bug
    module never changes the reference."""
    forward, backward = getattr(residual, f"{kind}_forward"), getattr(residual, f"{kind}_backward")

    def block_forward(*args, **kwargs):
        with mock.patch.multiple(residual, **pieces):
            return forward(*args, **kwargs)

    def block_backward(*args, **kwargs):
        with mock.patch.multiple(residual, **pieces):
            return backward(*args, **kwargs)

    block_forward.__name__, block_backward.__name__ = f"{kind}_forward", f"{kind}_backward"
    return block_forward, block_backward
