"""Step of the rule train (rules/train.smk): train one sgns run."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..atomic import save_npy, write_text
from ..config import TRAINING
from ..embeddings import check_embeddings
from ..io import read_sequences, vocab_size
from .common import LOG

__all__ = ["train_step", "vocab_artists"]


def train_step(
    train: str,
    vocab: str,
    params: Mapping,
    threads: int,
    embeddings_out: str,
    log_out: str,
    logger: logging.Logger = LOG,
    device: str = "auto",
) -> dict:
    """Train one grid entry and write its embedding matrix (.npy) and per-epoch log (.tsv).

    The negative-sampling and subsampling distributions use the song counts of the
    training part only, so nothing of the held-out songs leaks into training. With
    ``artist_vectors`` the artists come from ``vocab.parquet``'s ``artist_id`` column
    (:func:`vocab_artists`). TensorFlow's own log lines stay out of the job's log and stderr,
    but for its errors (:func:`track2vec.train.tf_log_level`; ``TRACK2VEC_TF_LOG=1`` shows them).

    Parameters
    ----------
    params : mapping
        Every training hyperparameter (:data:`track2vec.config.TRAINING`).
    device : {"auto", "cpu", "gpu"}
        Where the training runs (config key ``train.device``; :func:`track2vec.train.train`).
    """
    from ..train import TrainParams
    from ..train import train as train_sgns  # TensorFlow is imported only here

    offsets, values, _ = read_sequences(train)
    V = vocab_size(vocab)
    counts = np.bincount(values, minlength=V).astype(np.int64)
    p = TrainParams(**{h: params[h] for h in TRAINING})
    artists = vocab_artists(vocab, logger) if p.artist_vectors else None
    logger.info("training with %s on %d sequences, %d songs, %d threads", p, len(offsets) - 1, V, threads)
    result = train_sgns(
        offsets, values, counts, p, threads=threads, progress=logger.info, artists=artists, device=device
    )
    emb = check_embeddings(result.embeddings, V, embeddings_out)
    history = pd.DataFrame(result.history)
    save_npy(embeddings_out, emb)
    write_text(log_out, history.to_csv(sep="\t", index=False))
    logger.info("trained in %.1f s", result.seconds)
    return {"seconds": result.seconds}


def vocab_artists(vocab: str, logger: logging.Logger = LOG) -> np.ndarray:
    """The artist of each song of ``vocab.parquet`` as an index (``-1`` where none is known),
    for ``artist_vectors``; artists are numbered in order of first appearance."""
    ids = pd.read_parquet(vocab, columns=["artist_id"])["artist_id"]
    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    known = int((codes >= 0).sum())
    if known:
        logger.info("artist vectors: %d artists for %d of %d songs", len(uniques), known, len(codes))
    else:
        logger.info("artist vectors: the data holds no artist, so every song keeps a plain vector")
    return codes.astype(np.int64)
