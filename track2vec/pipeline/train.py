"""Steps of rules/train.smk: train an sgns run, combine an ensemble's members, count a baseline."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..atomic import save_npy, write_text
from ..config import TRAINING
from ..io import read_sequences, vocab_size
from ..models import check_embeddings, combine_embeddings, load_model
from .common import LOG

__all__ = ["train_step", "vocab_artists", "ensemble_step", "baseline_step"]


def train_step(
    train: str,
    vocab: str,
    params: Mapping,
    threads: int,
    embeddings_out: str,
    log_out: str,
    logger: logging.Logger = LOG,
) -> dict:
    """Train one grid entry and write its embedding matrix (.npy) and per-epoch log (.tsv).

    The negative-sampling and subsampling distributions use the song counts of the
    training part only, so nothing of the held-out songs leaks into training. With
    ``artist_vectors`` the artists come from ``vocab.parquet``'s ``artist_id`` column
    (:func:`vocab_artists`).

    Parameters
    ----------
    params : mapping
        Every training hyperparameter (:data:`track2vec.config.TRAINING`).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the logs
    from ..train import TrainParams
    from ..train import train as train_sgns  # TensorFlow is imported only here

    offsets, values, _ = read_sequences(train)
    V = vocab_size(vocab)
    counts = np.bincount(values, minlength=V).astype(np.int64)
    p = TrainParams(**{h: params[h] for h in TRAINING})
    artists = vocab_artists(vocab, logger) if p.artist_vectors else None
    logger.info("training with %s on %d sequences, %d songs, %d threads", p, len(offsets) - 1, V, threads)
    result = train_sgns(offsets, values, counts, p, threads=threads, progress=logger.info, artists=artists)
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


def ensemble_step(
    members: Sequence[str],
    member_logs: Sequence[str],
    vocab: str,
    embeddings_out: str,
    log_out: str,
    logger: logging.Logger = LOG,
) -> dict:
    """Write an ensemble entry's embedding: its members' embeddings combined by
    :func:`track2vec.models.combine_embeddings` (unit rows, concatenated).

    The training log holds, per epoch, the members' mean loss and their summed pairs and
    seconds (so the grid's ``train_seconds`` is the ensemble's whole training time).

    Raises
    ------
    DataError
        A member file that is unreadable or does not match the vocabulary.
    """
    V = vocab_size(vocab)
    emb = combine_embeddings([load_model(path, V).matrix for path in members])
    logs = [pd.read_csv(path, sep="\t") for path in member_logs]
    both = pd.concat(logs, ignore_index=True)
    history = (
        both.groupby("epoch", sort=True)
        .agg(
            loss=("loss", "mean"),
            positive_pairs=("positive_pairs", "sum"),
            seconds=("seconds", "sum"),
            learning_rate=("learning_rate", "first"),
        )
        .reset_index()
    )
    history["pairs_per_second"] = history["positive_pairs"] / history["seconds"]
    history["members"] = len(members)
    save_npy(embeddings_out, emb)
    write_text(log_out, history.to_csv(sep="\t", index=False))
    logger.info(
        "ensemble of %d members (%s): %d songs x %d dimensions",
        len(members),
        ", ".join(str(m) for m in members),
        emb.shape[0],
        emb.shape[1],
    )
    return {"members": len(members), "dim": int(emb.shape[1])}


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
