"""Step of rules/radio.smk: a radio from one seed song with the best entry."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ..catalog import SongNotFoundError
from ..radio import ANCHOR, MAX_ARTIST_RUN, MAX_PER_ARTIST, RadioWalk, describe_measures, per_artist_limit, write_radio
from .best_entry import best_recommender
from .common import LOG

__all__ = ["radio_step"]


def radio_step(
    best: str,
    embeddings: Mapping[str, str],
    vocab: str,
    metadata: str | None,
    query: str,
    nb_steps: int,
    nb_candidates: int,
    seed: int,
    metric: str,
    m3u8: str,
    json_out: str,
    html_out: str,
    logger: logging.Logger = LOG,
    train: str | None = None,
    anchor: float = ANCHOR,
    max_artist_run: int | None = MAX_ARTIST_RUN,
    max_per_artist: int | str | None = MAX_PER_ARTIST,
    generator: str | None = None,
) -> RadioWalk:
    """The ``radio`` rule: a radio from one seed song with the best entry, written as .m3u8/.json/.html.

    ``train`` (``split/train.parquet``) gives the song counts of the best entry's
    popularity prior, when its ``popularity_prior`` hyperparameter is above 0;
    ``anchor``, ``max_artist_run`` and ``max_per_artist`` are the walk's
    (:func:`track2vec.radio.walk_radio`); ``generator`` (``data/synthetic_model.npz``,
    built-in dataset) gives the songs' genres for the ``same_genre_share`` measure.

    A seed that matches no song (for example the built-in titles on another
    dataset) does not fail the run: the three files say so and a warning is logged.
    """
    entry, rec, genres = best_recommender(best, embeddings, vocab, metadata, metric, train, generator)
    try:
        walk = rec.radio(
            query,
            nb_steps=nb_steps,
            nb_candidates=nb_candidates,
            seed=seed,
            anchor=anchor,
            max_artist_run=max_artist_run,
            max_per_artist=max_per_artist,
            genres=genres,
        )
    except SongNotFoundError as exc:
        logger.warning("radio seed %r: %s; change the config key 'radio.seeds'", query, exc)
        walk = RadioWalk(
            query=query,
            seed_index=-1,
            nb_steps=nb_steps,
            nb_candidates=nb_candidates,
            seed=seed,
            entry=entry,
            metric=metric,
            messages=[f"no song matches the seed {query!r}: change the config key 'radio.seeds'"],
            anchor=anchor,
            max_artist_run=max_artist_run,
            max_per_artist=per_artist_limit(max_per_artist, nb_steps),
        )
    for line in walk.messages:
        logger.info("%s", line)
    write_radio(walk, m3u8, json_out, html_out)
    logger.info(
        "radio from %r (entry %s): %d songs, %d with a preview; %s",
        query,
        entry,
        len(walk.tracks),
        len(walk.played),
        describe_measures(walk.measures) or "no measures",
    )
    return walk
