"""Training / validation / test split, as in the paper and the seed notebook.

* training: every playlist without its last song;
* validation and test: the (second-to-last, last) songs of disjoint random samples
  of the playlists with more than 3 songs (after filtering); the task is to find the
  last song from the second-to-last.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Split", "split_playlists", "MIN_EVAL_LENGTH"]

#: a playlist is eligible for validation or test when it has more than this many songs
MIN_EVAL_LENGTH = 3


@dataclass
class Split:
    """The three parts.

    Attributes
    ----------
    train_offsets, train_values : numpy.ndarray
        Training sequences (CSR): each playlist without its last song. Playlists
        left with fewer than 2 songs are dropped (they hold no pair).
    train_ids : numpy.ndarray of int64
        The playlist (row number) of each training sequence.
    val, test : pandas.DataFrame
        Columns ``playlist``, ``query`` (second-to-last song) and ``target`` (last song).
    """

    train_offsets: np.ndarray
    train_values: np.ndarray
    train_ids: np.ndarray
    val: pd.DataFrame
    test: pd.DataFrame


def split_playlists(
    offsets: np.ndarray, values: np.ndarray, n_val: int = 10_000, n_test: int = 10_000, seed: int = 4
) -> Split:
    """Split encoded playlists into training sequences and validation/test pairs.

    Parameters
    ----------
    offsets, values : numpy.ndarray
        Encoded playlists (CSR), as in :class:`track2vec.vocab.Vocabulary`.
    n_val, n_test : int
        Number of validation and test pairs. When fewer playlists are eligible
        (more than 3 songs), both are scaled down in proportion and a
        ``UserWarning`` says so.
    seed : int
        Seed of the sample (drawn without replacement; the paper uses 4).

    Returns
    -------
    Split

    Raises
    ------
    ValueError
        No playlist has more than 3 songs, or ``n_val``/``n_test`` is negative.
    """
    if n_val < 0 or n_test < 0:
        raise ValueError(f"n_val and n_test must be >= 0, got {n_val}, {n_test}")
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    eligible = np.flatnonzero(lengths > MIN_EVAL_LENGTH)
    want = n_val + n_test
    if want and len(eligible) == 0:
        raise ValueError(
            f"no playlist has more than {MIN_EVAL_LENGTH} songs after filtering, so there is nothing to "
            "validate or test on: lower min_count or use longer playlists"
        )
    if want > len(eligible):
        scale = len(eligible) / want
        new_val = int(np.floor(n_val * scale))
        new_test = len(eligible) - new_val if n_test else 0
        new_test = min(new_test, int(np.ceil(n_test * scale)))
        warnings.warn(
            f"only {len(eligible)} playlists have more than {MIN_EVAL_LENGTH} songs: using {new_val} validation "
            f"and {new_test} test pairs instead of {n_val} and {n_test}",
            UserWarning,
            stacklevel=2,
        )
        n_val, n_test = new_val, new_test
    rng = np.random.default_rng(seed)
    chosen = rng.choice(eligible, size=n_val + n_test, replace=False)
    val_ids, test_ids = np.sort(chosen[:n_val]), np.sort(chosen[n_val:])

    def pairs(ids: np.ndarray) -> pd.DataFrame:
        end = offsets[ids + 1]
        return pd.DataFrame(
            {
                "playlist": ids.astype(np.int64),
                "query": values[end - 2].astype(np.int32),
                "target": values[end - 1].astype(np.int32),
            }
        )

    # training: every playlist minus its last song; keep sequences with >= 2 songs
    train_len = np.maximum(lengths - 1, 0)
    keep = train_len >= 2
    train_ids = np.flatnonzero(keep).astype(np.int64)
    t_len = train_len[keep]
    t_off = np.zeros(len(train_ids) + 1, dtype=np.int64)
    np.cumsum(t_len, out=t_off[1:])
    # a mask over the tokens: those of the kept playlists, less each one's last token
    mask = np.repeat(keep, lengths)
    mask[offsets[1:][keep] - 1 - offsets[0]] = False
    train_values = np.asarray(values, dtype=np.int32)[offsets[0] : offsets[-1]][mask]
    return Split(t_off, train_values, train_ids, pairs(val_ids), pairs(test_ids))
