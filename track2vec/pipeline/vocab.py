"""Step of rules/vocab.smk: count tracks, keep the frequent ones, encode the playlists."""

from __future__ import annotations

import logging

from ..errors import DataError
from ..io import load_playlists, source_of, write_sequences, write_table
from ..vocab import build_vocabulary
from .common import LOG

__all__ = ["vocab_step"]


def vocab_step(playlists: str, min_count: int, vocab_out: str, corpus_out: str, logger: logging.Logger = LOG) -> dict:
    """Count tracks, keep those with count >= ``min_count``, write the vocabulary and the encoded playlists.

    Outputs
    -------
    vocab_out : parquet with ``index``, ``track_id``, ``count``, ``artist_id``
    corpus_out : parquet with ``playlist`` and ``tracks`` (list of vocabulary indices)
    """
    pl = load_playlists(playlists)
    source = source_of(playlists)
    vocab = build_vocabulary(pl, min_count=min_count)
    if vocab.size < 2:
        raise DataError(
            source,
            f"only {vocab.size} track(s) occur at least min_count={min_count} times "
            f"(of {vocab.n_tracks_total} distinct tracks)",
            "lower min_count in config.yaml (min_count: 1 keeps every track) or use a larger dataset",
        )
    write_table(vocab.table, vocab_out, source)
    write_sequences(vocab.offsets, vocab.values, corpus_out, source=source)
    stats = {
        "distinct_tracks": vocab.n_tracks_total,
        "kept_tracks": vocab.size,
        "min_count": min_count,
        "kept_tokens": int(len(vocab.values)),
    }
    logger.info("vocabulary: %s", stats)
    return stats
