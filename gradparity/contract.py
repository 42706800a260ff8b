"""What an implementation owes beyond its values: the contract.

Values are judged for every implementation: outputs and gradients, their shapes and
dtypes, and NaN or infinities where PyTorch has none. The *contract* is more: bad input
raises the documented ``ValueError``/``TypeError`` naming the function and argument, and
extreme but legal input (logits of 1e4) passes without a ``RuntimeWarning``. The reference
promises it, and its own run enforces it. For an implementation under test it is
advisory: reported in the table (``passed, with RuntimeWarning: overflow encountered in
exp``) and failing the run only under ``--check-contract``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

ADVISORY = "advisory"  # the user_properties key of an advisory note
EXAMPLE = "advisory-example"  # and of (note, the first full message that gave it)


class Contract:
    """The contract for one test item: enforced (a breach fails it) or advisory (a breach
    is noted on the item, and the summary table shows it)."""

    def __init__(self, enforced: bool, node=None) -> None:
        self.enforced, self.node = enforced, node

    def breach(self, note: str, message: Callable[[], str]) -> None:
        """A breach of the contract: ``message()`` fails the test if enforced; else ``note``
        is recorded on the item (with the first message that gave it)."""
        __tracebackhide__ = True
        if self.enforced:
            raise AssertionError(message())
        if self.node is not None and (ADVISORY, note) not in self.node.user_properties:
            self.node.user_properties += [(ADVISORY, note), (EXAMPLE, (note, message()))]

    @contextmanager
    def watching(self, subject: str, function_name: str, call: Callable[[], str]) -> Iterator[None]:
        """Run a call of the implementation's ``function_name`` (for layer or model
        ``subject``; ``call()`` describes the call); a RuntimeWarning it raises is a breach.
        Other warnings pass through."""
        __tracebackhide__ = True
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        for warning in caught:
            if not issubclass(warning.category, RuntimeWarning):
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
        if runtime:
            text = f"{runtime[0].category.__name__}: {runtime[0].message}"
            self.breach(
                text,
                lambda: f"{subject}: {function_name} raised {text}\n  call: {call()}\n"
                "  hint: extreme but legal inputs must pass without overflow or invalid operations (exp of -|x| only, "
                "the max subtracted before exp).",
            )


# For calls made outside any test item (the features' probes): warnings are not judged.
UNJUDGED = Contract(enforced=False)


TALLY = "examples"  # the user_properties key of a check's ``Tally``


class Tally:
    """How many of a check's examples it could judge. The backward, gradcheck and purity
    checks need the forward's outputs first; when the forward raises, that example is not
    theirs to fail (the forward column reports it), and a check whose every example met
    a raising forward reads ``not checked (forward raised)``."""

    def __init__(self, node=None) -> None:
        self.counts = {"checked": 0, "forward raised": 0}
        if node is not None:  # the same dict, filled in while the test runs
            node.user_properties.append((TALLY, self.counts))

    def forward_raised(self) -> None:
        self.counts["forward raised"] += 1

    def checked(self) -> None:
        self.counts["checked"] += 1
