"""Counting tracks, filtering rare ones and indexing the vocabulary."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from .io import Playlists

__all__ = ["Vocabulary", "build_vocabulary"]


@dataclass
class Vocabulary:
    """The kept tracks and the playlists encoded with their indices.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per kept track, ordered by index: ``index`` (0..V-1), ``track_id``,
        ``count`` (occurrences in all playlists) and ``artist_id`` (the artist token
        seen most often with the track; null where unknown). Ordered by descending
        count, ties by ``track_id``.
    offsets : numpy.ndarray of int64, shape (n_playlists + 1,)
    values : numpy.ndarray of int32
        The playlists as vocabulary indices (CSR), rare tracks removed; a playlist
        may become shorter or empty, but keeps its row.
    n_tracks_total : int
        Distinct tracks before filtering.
    """

    table: pd.DataFrame
    offsets: np.ndarray
    values: np.ndarray
    n_tracks_total: int

    @property
    def size(self) -> int:
        return len(self.table)

    @property
    def counts(self) -> np.ndarray:
        return self.table["count"].to_numpy(dtype=np.int64)


def build_vocabulary(playlists: Playlists, min_count: int = 2) -> Vocabulary:
    """Count tracks, keep those occurring at least ``min_count`` times, index them.

    Parameters
    ----------
    playlists : Playlists
        As read by :func:`track2vec.io.read_playlists`.
    min_count : int, default 2
        Minimum number of occurrences (over all playlists) for a track to be kept;
        2 keeps the tracks that occur more than once, as the seed notebook does.

    Returns
    -------
    Vocabulary

    Notes
    -----
    Counting uses hashing (``pandas.factorize``) over the flat token array, so it is
    linear in the number of tokens; no Python loop runs per playlist.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    tokens = playlists.tracks.to_numpy(zero_copy_only=False)
    codes, uniques = pd.factorize(tokens)
    counts = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
    uniques = np.asarray(uniques, dtype=object)
    kept = np.flatnonzero(counts >= min_count)
    # descending count, ties broken by track id (deterministic whatever the input order)
    order = kept[np.lexsort((uniques[kept].astype(str), -counts[kept]))]
    new_index = np.full(len(uniques), -1, dtype=np.int64)
    new_index[order] = np.arange(len(order))
    # most frequent artist token per kept track
    artist_tokens = playlists.artists.to_numpy(zero_copy_only=False)
    artist_of = np.full(len(order), None, dtype=object)
    known = pd.notna(artist_tokens)
    if known.any():
        sel = known & (new_index[codes] >= 0)
        pairs = pd.DataFrame({"t": new_index[codes[sel]], "a": artist_tokens[sel]})
        top = pairs.groupby(["t", "a"], sort=True).size().reset_index(name="n")
        top = top.sort_values(["t", "n", "a"], ascending=[True, False, True], kind="stable").drop_duplicates("t")
        artist_of[top["t"].to_numpy()] = top["a"].to_numpy()
    table = pd.DataFrame(
        {
            "index": np.arange(len(order), dtype=np.int64),
            "track_id": pd.array(uniques[order].astype(str), dtype="string"),
            "count": counts[order],
            "artist_id": pd.array(artist_of, dtype="string"),
        }
    )
    mapped = new_index[codes]
    keep_tok = mapped >= 0
    pl = np.repeat(np.arange(playlists.n_playlists), playlists.lengths)
    lengths = np.bincount(pl[keep_tok], minlength=playlists.n_playlists)
    offsets = np.zeros(playlists.n_playlists + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Vocabulary(table, offsets, mapped[keep_tok].astype(np.int32), len(uniques))
