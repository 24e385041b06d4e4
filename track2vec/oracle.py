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

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from .metrics import hr_ndcg
from .progress import BlockProgress
from .synthetic import mixture_weights, token_to_index

__all__ = ["oracle_rankings", "oracle_scores"]


def _vocab_catalog(model: Mapping[str, np.ndarray], track_ids) -> np.ndarray:
    lookup = token_to_index(model)
    cat = np.array([lookup.get(t, -1) for t in track_ids], dtype=np.int64)
    if (cat < 0).any():
        missing = np.asarray(track_ids, dtype=object)[cat < 0][:3]
        raise ValueError(
            f"{int((cat < 0).sum())} vocabulary tracks are not in the generator's catalog (e.g. {list(missing)}): "
            "the model does not belong to this dataset"
        )
    return cat


def _top_lists(groups: np.ndarray, w: np.ndarray, n_groups: int, depth: int) -> np.ndarray:
    """For each group, its ``depth`` vocabulary songs of highest weight (ties: lower index), -1 padded."""
    order = np.lexsort((np.arange(len(w)), -w, groups))
    g_sorted = groups[order]
    starts = np.searchsorted(g_sorted, np.arange(n_groups))
    ends = np.searchsorted(g_sorted, np.arange(n_groups), side="right")
    pos = starts[:, None] + np.arange(depth)
    return np.where(pos < ends[:, None], order[np.minimum(pos, len(order) - 1)], -1)


def oracle_rankings(
    model: Mapping[str, np.ndarray],
    track_ids,
    queries: np.ndarray,
    k: int = 10,
    block: int = 4096,
    progress: Callable[[str], None] | None = None,
) -> np.ndarray:
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

    Notes
    -----
    The kernel gives song j the probability ``w_j * c`` plus, for the album successor,
    ``p_seq``, where the factor ``c`` depends only on whether j shares the query's artist,
    only its genre, or neither. Within each of those classes songs rank by ``w_j``, so
    the top k lie among the successor and the ``k + 2`` heaviest songs of the query's
    artist, of its genre and overall: only those candidates are scored.
    """
    t = _tables(model, track_ids, k)
    queries = np.asarray(queries, dtype=np.int64)
    out = np.empty((len(queries), k), dtype=np.int64)
    meter = BlockProgress(progress, len(queries), block, label="oracle:")
    for start in range(0, len(queries), block):
        qv = queries[start : start + block]
        out[start : start + len(qv)] = _rank_block(model, t, qv, k)
        meter.done(start // block, start + len(qv))
    return out


def _tables(model: Mapping[str, np.ndarray], track_ids, k: int) -> dict[str, np.ndarray]:
    """What ranking a block needs, computed once: the generator's arrays, the catalog index
    of each vocabulary song (``cat``) and back (``inv``), and the ``k + 2`` heaviest
    vocabulary songs overall, per genre and per artist."""
    cat = _vocab_catalog(model, track_ids)
    V = len(cat)
    if not 1 <= k < V:
        raise ValueError(f"k must be between 1 and {V - 1}, got {k}")
    t = {
        "cat": cat,
        "w": np.asarray(model["track_weight"], dtype=np.float64),
        "track_artist": np.asarray(model["track_artist"]).astype(np.int64),
        "artist_start": np.asarray(model["artist_start"]),
        "artist_genre": np.asarray(model["artist_genre"]).astype(np.int64),
        "genre_start": np.asarray(model["genre_start"]),
        "successor": np.asarray(model["successor"]),
    }
    t["w_v"] = t["w"][cat]
    t["art_v"] = t["track_artist"][cat]
    t["gen_v"] = t["artist_genre"][t["art_v"]]
    depth = k + 2
    t["top_all"] = _top_lists(np.zeros(V, dtype=np.int64), t["w_v"], 1, depth)[0]
    t["top_gen"] = _top_lists(t["gen_v"], t["w_v"], len(t["genre_start"]) - 1, depth)
    t["top_art"] = _top_lists(t["art_v"], t["w_v"], len(t["artist_start"]) - 1, depth)
    t["inv"] = np.full(len(t["w"]), -1, dtype=np.int64)  # catalog index -> vocabulary index
    t["inv"][cat] = np.arange(V)
    return t


def _rank_block(model: Mapping[str, np.ndarray], t: Mapping[str, np.ndarray], qv: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` most probable next songs of the queries ``qv`` (see :func:`oracle_rankings`)."""
    n = len(qv)
    depth = k + 2
    w, w_v, art_v, gen_v = t["w"], t["w_v"], t["art_v"], t["gen_v"]
    c = t["cat"][qv]
    a = t["track_artist"][c]
    g = t["artist_genre"][a]
    wc = w[c]
    mix = mixture_weights(model, c)
    a_mass = _range_sum(w, t["artist_start"][a], t["artist_start"][a + 1])
    g_mass = _range_sum(w, t["genre_start"][g], t["genre_start"][g + 1])
    coef_rnd = mix[:, 3] / (1.0 - wc)
    coef_gen = np.where(mix[:, 2] > 0, mix[:, 2] / np.maximum(g_mass - wc, 1e-300), 0.0)
    coef_art = np.where(mix[:, 1] > 0, mix[:, 1] / np.maximum(a_mass - wc, 1e-300), 0.0)
    succ = t["inv"][t["successor"][c]]
    cand = np.concatenate(
        [np.broadcast_to(t["top_all"], (n, depth)), t["top_gen"][g], t["top_art"][a], succ[:, None]], axis=1
    )
    valid = (cand >= 0) & (cand != qv[:, None])
    cj = np.where(valid, cand, 0)
    s = w_v[cj] * (
        coef_rnd[:, None]
        + (gen_v[cj] == g[:, None]) * coef_gen[:, None]
        + (art_v[cj] == a[:, None]) * coef_art[:, None]
    )
    s = s + (cj == succ[:, None]) * (succ >= 0)[:, None] * mix[:, :1]
    # a song can be a candidate twice: keep one copy
    order = np.argsort(cand, axis=1, kind="stable")
    sorted_c = np.take_along_axis(cand, order, axis=1)
    dup = np.zeros_like(valid)
    dup_sorted = np.concatenate([np.zeros((n, 1), dtype=bool), sorted_c[:, 1:] == sorted_c[:, :-1]], axis=1)
    np.put_along_axis(dup, order, dup_sorted, axis=1)
    s = np.where(valid & ~dup, s, -np.inf)
    rank = np.lexsort((cand, -s), axis=1)[:, :k]
    return np.take_along_axis(cand, rank, axis=1)


def _range_sum(w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    cs = np.concatenate([[0.0], np.cumsum(w)])
    return cs[hi] - cs[lo]


def oracle_scores(
    model: Mapping[str, np.ndarray],
    vocab: pd.DataFrame,
    pairs: pd.DataFrame,
    k: int = 10,
    same_song: str = "miss",
    progress: Callable[[str], None] | None = None,
) -> dict:
    """HR@k and NDCG@k of the oracle ranking on (query, target) pairs (as :func:`track2vec.metrics.hr_ndcg`)."""
    q = pairs["query"].to_numpy(dtype=np.int64)
    t = pairs["target"].to_numpy(dtype=np.int64)
    ranks = oracle_rankings(model, vocab["track_id"].astype(str).tolist(), q, k, progress=progress)
    return hr_ndcg(ranks, q, t, same_song=same_song)
