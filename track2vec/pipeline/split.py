"""Step of rules/split.smk: training sequences, and validation and test pairs."""

from __future__ import annotations

import logging

from ..errors import DataError
from ..io import read_sequences, source_of, write_sequences, write_table
from ..split import split_playlists
from .common import LOG

__all__ = ["split_step"]


def split_step(
    corpus: str,
    n_val: int,
    n_test: int,
    seed: int,
    train_out: str,
    val_out: str,
    test_out: str,
    logger: logging.Logger = LOG,
) -> dict:
    """Split the encoded playlists: training sequences and validation / test pairs (parquet)."""
    offsets, values, _ = read_sequences(corpus)
    source = source_of(corpus)
    try:
        sp = split_playlists(offsets, values, n_val=n_val, n_test=n_test, seed=seed)
    except ValueError as exc:
        raise DataError(source, str(exc)) from exc
    write_sequences(sp.train_offsets, sp.train_values, train_out, ids=sp.train_ids, source=source)
    write_table(sp.val, val_out, source)
    write_table(sp.test, test_out, source)
    stats = {
        "train_sequences": len(sp.train_ids),
        "train_tokens": int(len(sp.train_values)),
        "val_pairs": len(sp.val),
        "test_pairs": len(sp.test),
    }
    logger.info("split: %s", stats)
    return stats
