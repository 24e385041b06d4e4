"""The best entry as the radio steps use it (rules/radio.smk: radio and radio_quality)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..catalog import generator_genres
from ..errors import DataError
from ..io import read_json
from ..models import prior_weight
from ..recommend import Recommender

__all__ = ["best_recommender"]


def best_recommender(
    best: str,
    embeddings: Mapping[str, str],
    vocab: str,
    metadata: str | None,
    metric: str,
    train: str | None,
    generator: str | None,
) -> tuple[str, Recommender, np.ndarray | None]:
    """The best entry's name, its :class:`~track2vec.recommend.Recommender` (with its popularity
    prior) and, on the built-in data (``generator``), each song's genre; parameters as
    :func:`track2vec.pipeline.radio.radio_step`."""
    chosen = read_json(best)
    entry = chosen["entry"]
    if entry not in embeddings:
        raise DataError(best, f"names entry {entry!r}, which is not in the grid any more", "re-run the best rule")
    rec = Recommender.from_files(
        vocab, embeddings[entry], metadata, metric=metric, entry=entry, popularity=prior_weight(chosen), train=train
    )
    genres = generator_genres(rec.songs["track_id"], generator) if generator else None
    return entry, rec, genres
