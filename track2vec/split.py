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

__all__ = ["Split", "split_playlists", "pair_contexts", "MIN_EVAL_LENGTH"]

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


def pair_contexts(
    train_offsets: np.ndarray,
    train_values: np.ndarray,
    train_ids: np.ndarray,
    playlists: np.ndarray,
    last: int | None = None,
) -> np.ndarray:
    """The context of each validation or test pair: its playlist's songs before the target.

    A pair's playlist is in the training part without its last song, the pair's target, so
    its context is that training sequence, which ends with the pair's query. The target is
    never in its own context (unless the playlist holds it twice), exactly as the query
    song already is in the training part.

    Parameters
    ----------
    train_offsets, train_values, train_ids : numpy.ndarray
        The training sequences (CSR) and their playlist numbers (:class:`Split`).
    playlists : numpy.ndarray of int
        The ``playlist`` column of the pairs.
    last : int, optional
        Keep the last ``last`` songs of each context (None: all of them).

    Returns
    -------
    numpy.ndarray of int64, shape (n, m)
        Each context in order, padded on the right with -1 (m: the longest context).

    Raises
    ------
    ValueError
        A pair's playlist has no training sequence, or ``last`` < 1.
    """
    if last is not None and last < 1:
        raise ValueError(f"last must be at least 1, got {last}")
    train_ids = np.asarray(train_ids, dtype=np.int64)
    playlists = np.asarray(playlists, dtype=np.int64)
    order = np.argsort(train_ids, kind="stable")
    pos = np.minimum(np.searchsorted(train_ids[order], playlists), max(len(order) - 1, 0))
    found = train_ids[order][pos] == playlists if len(order) else np.zeros(len(playlists), dtype=bool)
    if not found.all():
        missing = playlists[~found][:3].tolist()
        raise ValueError(f"{int((~found).sum())} pairs' playlists have no training sequence (e.g. {missing})")
    rows = order[pos]
    ends = np.asarray(train_offsets, dtype=np.int64)[rows + 1]
    starts = np.asarray(train_offsets, dtype=np.int64)[rows]
    if last is not None:
        starts = np.maximum(starts, ends - last)
    lengths = ends - starts
    out = np.full((len(rows), int(lengths.max()) if len(rows) else 0), -1, dtype=np.int64)
    col = np.arange(out.shape[1])
    take = col[None, :] < lengths[:, None]
    out[take] = np.asarray(train_values, dtype=np.int64)[(starts[:, None] + col[None, :])[take]]
    return out
