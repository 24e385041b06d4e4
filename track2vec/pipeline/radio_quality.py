"""Step of rules/radio.smk's radio_quality rule: today's walk and the configured radio, measured
from many seed songs."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..atomic import write_text
from ..radio import ANCHOR, MAX_ARTIST_RUN, MAX_PER_ARTIST, popular_seeds, walk_radios
from ..report import radio_quality_html, radio_quality_summary
from .best_entry import best_recommender
from .common import LOG

__all__ = ["QUALITY_COLUMNS", "radio_quality_step"]

#: the measures of each walk in ``radio/quality.tsv``, after ``walk`` and the seed's columns
QUALITY_COLUMNS = (
    "n_songs",
    "distinct_artists",
    "longest_artist_run",
    "mean_seed_similarity",
    "same_genre_share",
    "n_widened",
    "n_rule_broken",
)


def radio_quality_step(
    best: str,
    embeddings: Mapping[str, str],
    vocab: str,
    metadata: str | None,
    n_seeds: int,
    among: int,
    nb_steps: int,
    nb_candidates: int,
    seed: int,
    metric: str,
    tsv_out: str,
    html_out: str,
    logger: logging.Logger = LOG,
    train: str | None = None,
    anchor: float = ANCHOR,
    max_artist_run: int | None = MAX_ARTIST_RUN,
    max_per_artist: int | str | None = MAX_PER_ARTIST,
    generator: str | None = None,
) -> pd.DataFrame:
    """The ``radio_quality`` rule: from ``n_seeds`` popular songs, today's walk (``anchor`` 0, no
    artist rules) and the radio with the configured settings, with the best entry; their
    measures (:func:`track2vec.radio.measure_walk`) in ``radio/quality.tsv`` and a summary
    table for the report.

    Parameters
    ----------
    best, embeddings, vocab, metadata, train, generator
        As :func:`track2vec.pipeline.radio.radio_step`.
    n_seeds, among : int
        Config keys ``radio.quality_seeds`` and ``radio.quality_among``: the seeds are
        drawn among the ``among`` most played songs (:func:`track2vec.radio.popular_seeds`).
    nb_steps, nb_candidates, seed, anchor, max_artist_run, max_per_artist : int, float or str
        The radio's settings (config keys ``radio.*``); ``seed`` also draws the seed songs.
    metric : str
        Config key ``evaluate.metric``.
    tsv_out, html_out : str
        ``radio/quality.tsv`` (two rows per seed song: ``walk`` = ``today`` and ``radio``)
        and the report's table (``report/radio_quality.html``).

    Returns
    -------
    pandas.DataFrame
        The rows of ``radio/quality.tsv``.
    """
    entry, rec, genres = best_recommender(best, embeddings, vocab, metadata, metric, train, generator)
    seeds = popular_seeds(rec.catalog, n_seeds, among, seed)
    common = dict(nb_steps=nb_steps, nb_candidates=nb_candidates, seed=seed, metric=metric, prior=rec.prior)
    common.update(entry=entry, genres=genres)
    walks = {}
    for name, settings in (
        ("today", dict(anchor=0.0, max_artist_run=None, max_per_artist=None)),
        ("radio", dict(anchor=anchor, max_artist_run=max_artist_run, max_per_artist=max_per_artist)),
    ):
        start = time.perf_counter()
        walks[name] = walk_radios(rec.model, rec.catalog, seeds.tolist(), **common, **settings)
        logger.info("%d %s walks of %d steps in %.1f s", len(seeds), name, nb_steps, time.perf_counter() - start)
    rows = []
    for i, s in enumerate(seeds.tolist()):
        song = rec.track(s)
        for name, ws in walks.items():
            m = ws[i].measures
            rows.append(
                {
                    "walk": name,
                    "seed_index": s,
                    "track_id": song["track_id"],
                    "title": song["title"],
                    "artist": song["artist"],
                    **{c: m.get(c) for c in QUALITY_COLUMNS},
                }
            )
    columns = ["walk", "seed_index", "track_id", "title", "artist", *QUALITY_COLUMNS]
    table = pd.DataFrame(rows, columns=columns)
    write_text(tsv_out, table.to_csv(sep="\t", index=False, float_format="%.6g"))
    settings = {
        "entry": entry,
        "seeds": len(seeds),
        "among": among,
        "nb_steps": nb_steps,
        "nb_candidates": nb_candidates,
        "anchor": walks["radio"][0].anchor if len(seeds) else anchor,
        "max_artist_run": max_artist_run,
        "max_per_artist": walks["radio"][0].max_per_artist if len(seeds) else max_per_artist,
    }
    radio_quality_html(table, html_out, settings)
    summary = radio_quality_summary(table)
    for name, row in summary.iterrows():
        logger.info("%s: %s", name, ", ".join(f"{k} {_fmt(v)}" for k, v in row.items()))
    return table


def _fmt(v) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.4g}"
