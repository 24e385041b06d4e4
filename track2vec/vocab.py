"""Counting tracks, filtering rare ones and indexing the vocabulary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .io import Playlists

__all__ = ["Vocabulary", "build_vocabulary", "encode_strings", "track_codes"]


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


def encode_strings(arr: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Codes (int64, -1 for null) and distinct values of a string array, by Arrow's hashing."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return codes, enc.dictionary


def track_codes(playlists: Playlists) -> tuple[np.ndarray, pa.Array]:
    """The code of each track token (int64) and the distinct track ids: the reader's
    codes when it made them, else :func:`encode_strings` of the tokens."""
    if playlists.track_codes is not None:
        return playlists.track_codes
    return encode_strings(playlists.tracks)


def _lexical_rank(values: pa.Array) -> np.ndarray:
    """Rank of each value in lexical (code point) order."""
    rank = np.empty(len(values), dtype=np.int64)
    rank[pc.sort_indices(values).to_numpy()] = np.arange(len(values))
    return rank


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
    Counting uses hashing (Arrow's ``dictionary_encode``) over the flat token array, so it is
    linear in the number of tokens; no Python loop runs per playlist.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    codes, uniques = track_codes(playlists)
    counts = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
    kept = np.flatnonzero(counts >= min_count)
    # descending count, ties broken by track id (deterministic whatever the input order)
    order = kept[np.lexsort((_lexical_rank(uniques.take(pa.array(kept))), -counts[kept]))]
    new_index = np.full(len(uniques), -1, dtype=np.int32)
    new_index[order] = np.arange(len(order), dtype=np.int32)
    mapped = new_index[codes]
    keep_tok = mapped >= 0
    table = pd.DataFrame(
        {
            "index": np.arange(len(order), dtype=np.int64),
            "track_id": pd.array(uniques.take(pa.array(order)), dtype="string"),
            "count": counts[order],
            "artist_id": pd.array(_artist_of(playlists, mapped, keep_tok, len(order)), dtype="string"),
        }
    )
    # playlist i loses the dropped tokens before its end: count those before each offset
    # (by binary search among the dropped ones, usually far fewer than the kept ones)
    starts = playlists.offsets - playlists.offsets[0]
    offsets = starts - np.searchsorted(np.flatnonzero(~keep_tok), starts)
    return Vocabulary(table, offsets.astype(np.int64, copy=False), mapped[keep_tok], int(np.count_nonzero(counts)))


def _artist_of(playlists: Playlists, mapped: np.ndarray, keep_tok: np.ndarray, size: int) -> pa.Array:
    """The artist token seen most often with each kept track (ties: the first in lexical
    order), null where no artist is known; a string array of length ``size``.

    ``mapped`` is the vocabulary index of each track token (-1: not kept), ``keep_tok``
    whether it is kept.
    """
    if not playlists.has_artists:
        return pa.nulls(size, type=pa.string())
    a_codes, a_uniques = (
        playlists.artist_codes if playlists.artist_codes is not None else encode_strings(playlists.artists)
    )
    sel = np.flatnonzero(keep_tok & (a_codes >= 0))
    t_tok, a_tok = mapped[sel].astype(np.int64), a_codes[sel]
    best = np.full(size, -1, dtype=np.int64)
    best[t_tok] = a_tok  # right as it is when every track comes with one artist only
    if not (best[t_tok] == a_tok).all():
        # distinct (track, artist) pairs and how often each occurs, by hashing
        n_a = len(a_uniques)
        pair_of_token, pair = pd.factorize(t_tok * n_a + a_tok)
        n = np.bincount(pair_of_token, minlength=len(pair))
        t, a = pair // n_a, pair % n_a
        # lexical rank of the artists that occur (among themselves: only their order matters)
        cand, a_local = np.unique(a, return_inverse=True)
        r = _lexical_rank(a_uniques.take(pa.array(cand)))[a_local]
        first = np.lexsort((r, -n, t))
        first = first[np.r_[True, t[first][1:] != t[first][:-1]]]
        best[t[first]] = a[first]
    return a_uniques.take(pa.array(best, mask=best < 0))
