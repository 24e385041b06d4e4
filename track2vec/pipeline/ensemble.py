"""Step of the rule ensemble (rules/train.smk): one embedding from an ensemble run's members."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from ..atomic import save_npy, write_text
from ..embeddings import combine_embeddings
from ..io import vocab_size
from ..models import load_model
from .common import LOG

__all__ = ["ensemble_step"]


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
