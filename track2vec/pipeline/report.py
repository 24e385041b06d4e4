"""Step of rules/report.smk: the figures and tables of the Snakemake report."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .. import report as rep
from ..embeddings import check_embeddings
from ..io import read_json
from ..names import EMBEDDING
from .common import LOG

__all__ = ["report_step"]


def report_step(
    grid: str,
    best: str,
    test_score: str,
    train_logs: Mapping[str, str],
    vocab: str,
    embeddings: Mapping[str, str],
    out: Mapping[str, str],
    defaults: Mapping[str, object],
    best_metric: str = "ndcg_at_k",
    metric: str = "cosine",
    map_songs: int = 500,
    generator: str | None = None,
    metadata: str | None = None,
    logger: logging.Logger = LOG,
) -> None:
    """Draw every figure and table of the report (:mod:`track2vec.report`).

    Parameters
    ----------
    grid, best, test_score : str
        ``grid.tsv``, ``best.json``, ``test_score.json``.
    train_logs : mapping
        Run id -> ``train_log/{run}.tsv``.
    vocab : str
        ``vocab.parquet``.
    embeddings : mapping
        Embedding entry -> its (first run's) ``embeddings/{entry}.npy``.
    out : mapping
        Output paths: ``grid``, ``scores``, ``hyperparameters``, ``loss``, ``test``,
        ``test_table``, ``map``.
    defaults : mapping
        Config key ``defaults`` (the reference point of the hyperparameter panels).
    best_metric : {"ndcg_at_k", "hr_at_k"}
        Config key ``best.metric``.
    metric : {"cosine", "euclidean"}
        Config key ``evaluate.metric``.
    map_songs : int
        Config key ``report.map_songs``: the most frequent songs on the map.
    generator : str, optional
        ``synthetic_model.npz`` on the built-in dataset (map coloured by genre).
    metadata : str, optional
        A ``TracksArtists.csv``-like file (artist names on a user's file).
    """
    g = pd.read_csv(grid, sep="\t")
    b = read_json(best)
    _grid_pages(g, b, train_logs, out, defaults, best_metric, logger)
    _test_pages(read_json(test_score), out, logger)
    _map_page(g, b, vocab, embeddings, out["map"], best_metric, metric, map_songs, generator, metadata, logger)


def _grid_pages(
    g: pd.DataFrame,
    b: Mapping,
    train_logs: Mapping[str, str],
    out: Mapping[str, str],
    defaults: Mapping[str, object],
    best_metric: str,
    logger: logging.Logger,
) -> None:
    """The grid table, the scores, the hyperparameter panels and the training loss."""
    rep.grid_table_html(g, out["grid"], best=b.get("entry"))
    rep.scores_figure(g, out["scores"], best=b.get("entry"))
    logger.info("grid: %d entries, best %s", len(g), b.get("entry"))
    rep.hyperparameter_figure(g, defaults, out["hyperparameters"], metric=best_metric)
    logger.info("hyperparameter panels: %s", ", ".join(rep.varying_hyperparameters(g)) or "none vary")
    tied = [
        e
        for e, t, m in zip(g["entry"], g.get("tied", pd.Series([None] * len(g))), g["method"])
        if m == EMBEDDING and str(t).lower() == "true"
    ]
    rep.loss_figure({run: pd.read_csv(p, sep="\t") for run, p in train_logs.items()}, out["loss"], tied=tied)


def _test_pages(score: Mapping, out: Mapping[str, str], logger: logging.Logger) -> None:
    """The test score, as a figure and a table."""
    rep.test_figure(score, out["test"])
    rep.test_table_html(score, out["test_table"])
    logger.info("test score of %s: HR@%s %.4f", score["entry"], score["k"], score["hr_at_k"])


def _map_page(
    g: pd.DataFrame,
    b: Mapping,
    vocab: str,
    embeddings: Mapping[str, str],
    path: str,
    best_metric: str,
    metric: str,
    map_songs: int,
    generator: str | None,
    metadata: str | None,
    logger: logging.Logger,
) -> None:
    """The 2-D map of the most frequent songs of the best embedding entry."""
    entry = rep.best_embedding_entry(g, b, best_metric)
    if entry is None or entry not in embeddings:
        rep.empty_figure(path, "no embedding entry in the grid: nothing to map")
        logger.info("no embedding entry: empty map")
        return
    voc = pd.read_parquet(vocab)
    n = min(int(map_songs), len(voc))
    emb = check_embeddings(np.load(embeddings[entry]), len(voc), embeddings[entry])[:n]
    gen = None
    if generator:
        from ..synthetic import load_model

        gen = load_model(generator)
    meta = pd.read_csv(metadata, dtype=str, keep_default_na=False) if metadata and gen is None else None
    labels, kind = rep.map_labels(voc, n, generator=gen, metadata=meta)
    rep.embedding_map(emb, labels, path, entry, kind=kind, metric=metric)
    logger.info("map: %d most frequent songs of %s, by %s", n, entry, kind)
