"""Progress lines for long loops over blocks (evaluation, oracle): a few lines, not a flood."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["BlockProgress"]


class BlockProgress:
    """Report a loop over blocks of items about every tenth of the way.

    Parameters
    ----------
    say : callable or None
        Receives each progress line (for example ``logger.info``); ``None`` says nothing.
    total : int
        Items (queries) to process.
    block : int
        Items per block.
    label : str
        What is being done, at the start of each line.
    every : float
        Share of the blocks between two lines (0.1: about ten lines).

    Notes
    -----
    Nothing is said for a single block: small query sets stay silent. The last block
    is not reported either (the caller logs the result).
    """

    def __init__(
        self, say: Callable[[str], None] | None, total: int, block: int, label: str = "scored", every: float = 0.1
    ) -> None:
        self.say = say
        self.total = int(total)
        self.n_blocks = max(1, -(-self.total // max(1, int(block))))
        self.step = max(1, int(round(self.n_blocks * every)))
        self.label = label
        self.t0 = time.perf_counter()

    def done(self, block_index: int, items_done: int) -> None:
        """Call after block ``block_index`` (0-based) with the items processed so far."""
        b = block_index + 1
        if self.say is None or self.n_blocks < 2 or b >= self.n_blocks or b % self.step:
            return
        elapsed = time.perf_counter() - self.t0
        left = elapsed * (self.total - items_done) / max(items_done, 1)
        self.say(
            f"{self.label} {items_done:,}/{self.total:,} queries ({100 * items_done / max(self.total, 1):.0f}%), "
            f"block {b}/{self.n_blocks}, {elapsed:.1f}s elapsed, about {left:.0f}s left"
        )
