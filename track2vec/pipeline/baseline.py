"""Step of the rule baseline (rules/train.smk): count a popularity or co-occurrence baseline."""

from __future__ import annotations

import logging
import time

from ..atomic import write_text
from ..io import read_sequences, vocab_size
from .common import LOG

__all__ = ["baseline_step"]


def baseline_step(
    train: str, vocab: str, method: str, window: int, out: str, log_out: str | None = None, logger: logging.Logger = LOG
) -> dict:
    """Count a baseline (popularity or co-occurrence) on the training sequences; write it (.npz)
    and, with ``log_out``, its training log (one row, ``epoch`` 0 and the ``seconds`` it took)."""
    from ..baselines import Baseline

    t0 = time.perf_counter()
    offsets, values, _ = read_sequences(train)
    model = Baseline.fit(method, offsets, values, vocab_size(vocab), window)
    model.save(out)
    seconds = time.perf_counter() - t0
    if log_out is not None:
        write_text(log_out, f"epoch\tseconds\n0\t{seconds:.3f}\n")
    logger.info("%s baseline counted in %.2f s", method, seconds)
    return {"seconds": seconds}
