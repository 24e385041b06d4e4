"""What several steps share: the logger they default to, the check of ``evaluate.k``, and the
contexts of the validation and test pairs."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..io import read_sequences
from ..split import pair_contexts

__all__ = ["LOG", "check_k", "read_contexts"]

#: the logger every step writes to unless given another (scripts pass the rule's)
LOG = logging.getLogger("track2vec")


def check_k(k: int, n_vocab: int) -> None:
    """``evaluate.k`` must leave room for the query itself in the vocabulary.

    Raises
    ------
    ConfigError
        ``k`` is at least the vocabulary size.
    """
    if k >= n_vocab:
        raise ConfigError(
            f"config key 'evaluate.k' is {k} but the vocabulary has only {n_vocab} songs: choose k below {n_vocab}"
        )


def read_contexts(train: str, pairs: pd.DataFrame, last: int | None) -> np.ndarray:
    """Each pair's context, from the training sequences (:func:`track2vec.split.pair_contexts`).

    Raises
    ------
    ConfigError
        ``train`` is None: a context needs the training sequences.
    """
    if train is None:
        raise ConfigError("config key 'evaluate.context' needs the training sequences (split/train.parquet)")
    offsets, values, ids = read_sequences(train)
    return pair_contexts(offsets, values, ids, pairs["playlist"].to_numpy(), last=last)
