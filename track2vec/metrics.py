"""Scoring suggestions: hit ranks, HR@k and NDCG@k, and a model's scores on (query, target) pairs.

Usage::

    from track2vec.metrics import evaluate_pairs, hr_ndcg

    scores = evaluate_pairs(model, pairs, k=10, metric="cosine", same_song="miss")
    scores["hr_at_k"], scores["ndcg_at_k"]

HR@k is the share of pairs whose target is among the k suggestions for the query; NDCG@k
the mean of ``1 / log2(rank + 1)`` for a hit at rank 1..k, else 0 (docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .models import complete_playlists

__all__ = ["SAME_SONG_CONVENTIONS", "adjacent_pair_counts", "evaluate_pairs", "hit_ranks", "hr_ndcg"]

#: what to do with a pair whose next song equals the query (the query is never suggested)
SAME_SONG_CONVENTIONS = {
    "miss": "the pair counts and is a miss (the query itself is never suggested)",
    "hit": "the pair counts as a hit at rank 1 (NDCG 1), as in the paper's code",
    "exclude": "the pair is left out of the scores",
}


def hit_ranks(suggestions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Rank (1-based) of each target among its suggestions, 0 when absent.

    Parameters
    ----------
    suggestions : numpy.ndarray of int, shape (n, k)
    targets : numpy.ndarray of int, shape (n,)
    """
    match = suggestions == np.asarray(targets)[:, None]
    found = match.any(axis=1)
    return np.where(found, match.argmax(axis=1) + 1, 0)


def hr_ndcg(suggestions: np.ndarray, queries: np.ndarray, targets: np.ndarray, same_song: str = "miss") -> dict:
    """HR@k and NDCG@k of suggestions for (query, target) pairs.

    Parameters
    ----------
    suggestions : numpy.ndarray of int, shape (n, k)
        Suggested songs per query, best first (the query itself never among them).
    queries, targets : numpy.ndarray of int, shape (n,)
    same_song : {"miss", "hit", "exclude"}
        Convention for a pair whose target equals its query: see
        :data:`SAME_SONG_CONVENTIONS`.

    Returns
    -------
    dict
        ``k``, ``hr_at_k`` (share of pairs whose target is suggested),
        ``ndcg_at_k`` (mean of 1/log2(rank + 1) for a hit at rank 1..k, else 0),
        ``n_pairs`` (pairs scored), ``n_same_song`` and ``same_song``.
    """
    if same_song not in SAME_SONG_CONVENTIONS:
        raise ValueError(f"same_song must be one of {sorted(SAME_SONG_CONVENTIONS)}, got {same_song!r}")
    queries = np.asarray(queries)
    targets = np.asarray(targets)
    k = suggestions.shape[1]
    ranks = hit_ranks(suggestions, targets)
    same = queries == targets
    if same_song == "hit":
        ranks = np.where(same, 1, ranks)
    elif same_song == "miss":
        ranks = np.where(same, 0, ranks)
    else:
        ranks = ranks[~same]
    gains = np.zeros(len(ranks))
    gains[ranks > 0] = 1.0 / np.log2(ranks[ranks > 0] + 1.0)
    n = len(ranks)
    return {
        "k": int(k),
        "hr_at_k": float((ranks > 0).mean()) if n else 0.0,
        "ndcg_at_k": float(gains.mean()) if n else 0.0,
        "n_pairs": int(n),
        "n_same_song": int(same.sum()),
        "same_song": same_song,
    }


def evaluate_pairs(
    model,
    pairs: pd.DataFrame,
    k: int = 10,
    metric: str = "cosine",
    same_song: str = "miss",
    progress: Callable[[str], None] | None = None,
    prior: np.ndarray | None = None,
    contexts: np.ndarray | None = None,
    decay: float = 1.0,
    exclude_context: bool = True,
) -> dict:
    """Score an embedding (or a baseline) on (query, target) pairs: suggestions for each
    query, or for each pair's context, then HR@k / NDCG@k.

    Parameters
    ----------
    model : numpy.ndarray of shape (V, dim), or track2vec.models.Model
    pairs : pandas.DataFrame
        Columns ``query`` and ``target`` (vocabulary indices).
    k, metric, same_song
        See :func:`track2vec.knn.nearest_neighbours` and :func:`hr_ndcg`.
    progress : callable, optional
        Progress lines for large query sets (see :func:`track2vec.knn.nearest_neighbours`).
    prior : numpy.ndarray, shape (V,), optional
        See :func:`track2vec.models.complete_playlists`.
    contexts : numpy.ndarray of int, shape (n, m), optional
        Each pair's context (:func:`track2vec.split.pair_contexts`: its playlist's songs before
        the target, ending with the query, padded with -1): the suggestions complete it, as
        ``track2vec suggest`` completes a playlist. None: the query song alone.
    decay, exclude_context
        How a context scores (:func:`track2vec.models.complete_playlists`).

    Returns
    -------
    dict
        As :func:`hr_ndcg`, plus ``metric``.
    """
    queries = pairs["query"].to_numpy(dtype=np.int64)
    targets = pairs["target"].to_numpy(dtype=np.int64)
    if contexts is None:
        # each query is a one-song playlist to complete: the same code path as `track2vec suggest`
        idx, _ = complete_playlists(model, queries[:, None], k=k, metric=metric, progress=progress, prior=prior)
    else:
        contexts = np.asarray(contexts, dtype=np.int64)
        ends = contexts[np.arange(len(contexts)), (contexts >= 0).sum(axis=1) - 1]
        if len(contexts) != len(queries) or not np.array_equal(ends, queries):
            raise ValueError("each pair's context must end with its query song")
        idx, _ = complete_playlists(
            model,
            contexts,
            k=k,
            metric=metric,
            last=None,
            progress=progress,
            prior=prior,
            decay=decay,
            exclude_context=exclude_context,
        )
    out = hr_ndcg(idx, queries, targets, same_song=same_song)
    out["metric"] = metric
    return out


def adjacent_pair_counts(
    offsets: np.ndarray, values: np.ndarray, queries: np.ndarray, targets: np.ndarray, n_songs: int
) -> np.ndarray:
    """How often each (query, target) pair occurs as consecutive songs (query then target)
    in the training sequences: the paper's measure for cold-start pairs."""
    values = np.asarray(values, dtype=np.int64)
    pl = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    same = pl[1:] == pl[:-1]
    keys = values[:-1][same] * n_songs + values[1:][same]
    uniq, counts = np.unique(keys, return_counts=True)
    want = np.asarray(queries, dtype=np.int64) * n_songs + np.asarray(targets, dtype=np.int64)
    if not len(uniq):
        return np.zeros(len(want), dtype=np.int64)
    pos = np.minimum(np.searchsorted(uniq, want), len(uniq) - 1)
    return np.where(uniq[pos] == want, counts[pos], 0).astype(np.int64)
