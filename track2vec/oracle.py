"""The best achievable score on the built-in dataset (the ``oracle`` row).

The synthetic generator is a first-order Markov chain over tracks (see
:mod:`track2vec.synthetic`), so given only the query song the Bayes-optimal ranking
of next songs is the chain's kernel ``K(query, .)``, restricted to the vocabulary
(only vocabulary songs can be targets) with the query itself excluded, as for
every other method. The generator's no-repeat rule depends on the earlier songs
of the playlist, which a method given only the query does not see; the ranking
ignores it (its effect on the ranking is small: it only demotes songs already
played).
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import pandas as pd

from .evaluate import hr_ndcg
from .progress import BlockProgress
from .synthetic import _mixture, token_to_index

__all__ = ["oracle_rankings", "oracle_scores"]


def _vocab_catalog(model: Mapping[str, np.ndarray], track_ids) -> np.ndarray:
    lookup = token_to_index(model)
    cat = np.array([lookup.get(t, -1) for t in track_ids], dtype=np.int64)
    if (cat < 0).any():
        missing = np.asarray(track_ids, dtype=object)[cat < 0][:3]
        raise ValueError(f"{int((cat < 0).sum())} vocabulary tracks are not in the generator's catalog (e.g. {list(missing)}): the model does not belong to this dataset")
    return cat


def oracle_rankings(model: Mapping[str, np.ndarray], track_ids, queries: np.ndarray, k: int = 10, block: int = 256,
                    progress: Callable[[str], None] | None = None) -> np.ndarray:
    """The ``k`` most probable next songs of each query under the generator.

    Parameters
    ----------
    model : mapping
        The generator's model (``synthetic_model.npz``).
    track_ids : sequence of str
        ``track_id`` of each vocabulary index (``vocab.parquet``).
    queries : numpy.ndarray of int
        Query songs (vocabulary indices).
    k : int
    block : int
        Queries ranked at a time (memory: block x V floats).
    progress : callable, optional
        Receives a progress line about every tenth of the blocks (nothing for one block).

    Returns
    -------
    numpy.ndarray of int64, shape (n, k)
        Vocabulary indices, most probable first; ties go to the lower index.
    """
    cat = _vocab_catalog(model, track_ids)
    V = len(cat)
    w = np.asarray(model["track_weight"], dtype=np.float64)
    track_artist = np.asarray(model["track_artist"])
    artist_start = np.asarray(model["artist_start"])
    artist_genre = np.asarray(model["artist_genre"]).astype(np.int64)
    genre_start = np.asarray(model["genre_start"])
    successor = np.asarray(model["successor"])
    w_v = w[cat]
    art_v = track_artist[cat]
    gen_v = artist_genre[art_v]
    # catalog index -> vocabulary index (or -1)
    inv = np.full(len(w), -1, dtype=np.int64)
    inv[cat] = np.arange(V)
    queries = np.asarray(queries, dtype=np.int64)
    out = np.empty((len(queries), k), dtype=np.int64)
    meter = BlockProgress(progress, len(queries), block, label="oracle:")
    for start in range(0, len(queries), block):
        qv = queries[start : start + block]
        c = cat[qv]
        a = track_artist[c]
        g = artist_genre[a]
        wc = w[c]
        mix = _mixture(model, c)
        a_mass = _range_sum(w, artist_start[a], artist_start[a + 1])
        g_mass = _range_sum(w, genre_start[g], genre_start[g + 1])
        coef_rnd = mix[:, 3] / (1.0 - wc)
        coef_gen = np.where(mix[:, 2] > 0, mix[:, 2] / np.maximum(g_mass - wc, 1e-300), 0.0)
        coef_art = np.where(mix[:, 1] > 0, mix[:, 1] / np.maximum(a_mass - wc, 1e-300), 0.0)
        s = w_v[None, :] * (
            coef_rnd[:, None]
            + (gen_v[None, :] == g[:, None]) * coef_gen[:, None]
            + (art_v[None, :] == a[:, None]) * coef_art[:, None]
        )
        rows = np.arange(len(qv))
        succ = inv[successor[c]]
        has = succ >= 0
        s[rows[has], succ[has]] += mix[has, 0]
        s[rows, qv] = -np.inf
        part = np.argpartition(-s, min(k, V - 1) - 1, axis=1)[:, :k] if k < V else np.tile(np.arange(V), (len(qv), 1))
        vals = np.take_along_axis(s, part, axis=1)
        order = np.lexsort((part, -vals), axis=1)
        # a tie at the k-th place may continue outside the partition: settle ties by index exactly
        kth = np.take_along_axis(vals, order[:, -1:], axis=1)[:, 0]
        for i in np.flatnonzero((s == kth[:, None]).sum(axis=1) > (vals == kth[:, None]).sum(axis=1)):
            o = np.lexsort((np.arange(V), -s[i]))[:k]
            part[i], order[i] = o, np.arange(k)
        out[start : start + len(qv)] = np.take_along_axis(part, order, axis=1)[:, :k]
        meter.done(start // block, start + len(qv))
    return out


def _range_sum(w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    cs = np.concatenate([[0.0], np.cumsum(w)])
    return cs[hi] - cs[lo]


def oracle_scores(model: Mapping[str, np.ndarray], vocab: pd.DataFrame, pairs: pd.DataFrame, k: int = 10, same_song: str = "miss",
                  progress: Callable[[str], None] | None = None) -> dict:
    """HR@k and NDCG@k of the oracle ranking on (query, target) pairs (as :func:`track2vec.evaluate.hr_ndcg`)."""
    q = pairs["query"].to_numpy(dtype=np.int64)
    t = pairs["target"].to_numpy(dtype=np.int64)
    ranks = oracle_rankings(model, vocab["track_id"].astype(str).tolist(), q, k, progress=progress)
    return hr_ndcg(ranks, q, t, same_song=same_song)
