"""Exact nearest neighbours and the HR@k / NDCG@k metrics.

Neighbour search is exact: scores are computed for a block of queries against
the whole vocabulary with one float32 matrix product, the best ``k + margin``
candidates are re-scored in float64 and sorted, and every query is checked
against a rigorous bound on the float32 rounding error; a query whose ranking
the bound cannot guarantee is re-scored in float64 against the whole vocabulary.
Ties are broken by the lower index (the more frequent song). The result is
therefore exactly the float64 ranking, at the speed of a float32 GEMM.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from .errors import DataError
from .progress import BlockProgress

__all__ = [
    "nearest_neighbours",
    "complete_playlists",
    "hit_ranks",
    "hr_ndcg",
    "check_embeddings",
    "SAME_SONG_CONVENTIONS",
    "METRICS",
]

#: distance measures for neighbour search
METRICS = ("cosine", "euclidean")

#: what to do with a pair whose next song equals the query (the query is never suggested)
SAME_SONG_CONVENTIONS = {
    "miss": "the pair counts and is a miss (the query itself is never suggested)",
    "hit": "the pair counts as a hit at rank 1 (NDCG 1), as in the paper's code",
    "exclude": "the pair is left out of the scores",
}

_MARGIN = 8
_CHUNK = 64


def _top_candidates(s: np.ndarray, m: int, n_chunks: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices of the ``m`` largest entries of each row of ``s`` (in any order),
    and the largest entry left out of them.

    Two levels: the m largest entries of a row lie in the (at most m) chunks of
    ``_CHUNK`` columns whose maxima are the m largest chunk maxima, so an exact
    top-m needs a partial sort of the chunk maxima and of m chunks only, instead of
    a partial sort of the whole row.
    """
    b = s.shape[0]
    if n_chunks <= m:
        part = np.argpartition(-s, min(m, s.shape[1] - 1), axis=1)
        cand = part[:, :m]
        outside = s[np.arange(b), part[:, m]] if s.shape[1] > m else np.full(b, -np.inf)
        return cand, outside
    chunks = s.reshape(b, n_chunks, _CHUNK)
    cmax = chunks.max(axis=2)
    cpart = np.argpartition(-cmax, m, axis=1)
    top_chunks = cpart[:, :m]
    rows = np.arange(b)[:, None]
    best_left_chunk = cmax[rows[:, 0], cpart[:, m]]
    vals = chunks[rows, top_chunks].reshape(b, m * _CHUNK)
    cols = (top_chunks[:, :, None] * _CHUNK + np.arange(_CHUNK)).reshape(b, m * _CHUNK)
    vpart = np.argpartition(-vals, m, axis=1)
    cand = np.take_along_axis(cols, vpart[:, :m], axis=1)
    outside = np.maximum(vals[rows[:, 0], vpart[:, m]], best_left_chunk)
    return cand, outside
_EPS32 = np.finfo(np.float32).eps


def check_embeddings(emb: np.ndarray, n_vocab: int, path: str = "embeddings") -> np.ndarray:
    """Check that an embedding matrix is usable: 2-D float, one row per song, finite.

    Parameters
    ----------
    emb : numpy.ndarray
    n_vocab : int
        Expected number of rows (the vocabulary size).
    path : str
        Named in the error message.

    Returns
    -------
    numpy.ndarray of float32

    Raises
    ------
    DataError
        Wrong shape or dtype, or non-finite values.
    """
    fix = "re-run its train job (delete the file, or snakemake --forcerun train)"
    if not isinstance(emb, np.ndarray) or emb.ndim != 2:
        raise DataError(path, f"is not a 2-D matrix (shape {getattr(emb, 'shape', None)})", fix)
    if emb.shape[0] != n_vocab:
        raise DataError(path, f"has {emb.shape[0]} rows but the vocabulary has {n_vocab} songs", fix)
    if not np.issubdtype(emb.dtype, np.floating):
        raise DataError(path, f"has dtype {emb.dtype}, not floating point", fix)
    bad = ~np.isfinite(emb).all(axis=1)
    if bad.any():
        raise DataError(path, f"has NaN or infinite values in {int(bad.sum())} rows (first: row {int(np.flatnonzero(bad)[0])})", fix)
    return np.ascontiguousarray(emb, dtype=np.float32)


def _prepare(emb: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float64 base vectors, float32 copy and per-row squared norms for ``metric``."""
    e64 = np.asarray(emb, dtype=np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(e64, axis=1, keepdims=True)
        e64 = e64 / np.where(norms == 0, 1.0, norms)
    sq = np.einsum("ij,ij->i", e64, e64)
    return e64, e64.astype(np.float32), sq


def _scores(q: np.ndarray, base: np.ndarray, sq: np.ndarray, metric: str) -> np.ndarray:
    """Similarity (higher is nearer): cosine = dot of unit vectors; euclidean = -(|e|^2 - 2 q.e)."""
    dots = q @ base.T
    if metric == "cosine":
        return dots
    return 2.0 * dots - sq


def nearest_neighbours(
    emb: np.ndarray,
    queries: np.ndarray,
    k: int = 10,
    metric: str = "cosine",
    exclude: np.ndarray | None = None,
    query_vectors: np.ndarray | None = None,
    block: int = 2048,
    progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` exact nearest songs of each query song (the query itself excluded).

    Parameters
    ----------
    emb : numpy.ndarray, shape (V, dim)
        Embedding matrix; row i is song i.
    queries : numpy.ndarray of int, shape (n,)
        Query song indices. Each query is excluded from its own neighbours.
    k : int
        Number of neighbours (at most V - 1).
    metric : {"cosine", "euclidean"}
    exclude : numpy.ndarray of int, shape (n, m), optional
        Further song indices never to suggest for each query (-1 = none), for
        example the songs already in a playlist.
    query_vectors : numpy.ndarray, shape (n, dim), optional
        Search from these vectors instead of the query songs' own rows (for
        example the mean of the last songs); ``queries`` are still excluded.
    block : int
        Queries scored per matrix product (memory: block x V floats).
    progress : callable, optional
        Receives a progress line about every tenth of the blocks (nothing for a
        single block), for example ``logger.info``.

    Returns
    -------
    indices : numpy.ndarray of int64, shape (n, k)
        Neighbours, nearest first; ties go to the lower index.
    scores : numpy.ndarray of float64, shape (n, k)
        Cosine similarity, or Euclidean distance for ``metric="euclidean"``.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    V = emb.shape[0]
    queries = np.asarray(queries, dtype=np.int64)
    n_excl = 1 + (0 if exclude is None else exclude.shape[1])
    if not 1 <= k <= V - 1:
        raise ValueError(f"k must be between 1 and {V - 1} (the vocabulary has {V} songs), got {k}")
    base64, base32, sq = _prepare(emb, metric)
    # pad the float32 copy to whole chunks for the two-level top-m search
    n_chunks = -(-V // _CHUNK)
    base32 = np.concatenate([base32, np.zeros((n_chunks * _CHUNK - V, base32.shape[1]), np.float32)])
    sq32 = np.concatenate([sq, np.zeros(n_chunks * _CHUNK - V)]).astype(np.float32)
    if query_vectors is None:
        q64 = base64[queries]
    else:
        q64 = np.asarray(query_vectors, dtype=np.float64)
        if metric == "cosine":
            nq = np.linalg.norm(q64, axis=1, keepdims=True)
            q64 = q64 / np.where(nq == 0, 1.0, nq)
    n, dim = len(queries), emb.shape[1]
    m = min(V, k + n_excl + _MARGIN)
    out_idx = np.empty((n, k), dtype=np.int64)
    out_score = np.empty((n, k), dtype=np.float64)
    # rigorous bound on |float32 score - float64 score| (dot products of length dim,
    # plus rounding of the inputs to float32): (dim + 4) * eps * |q| * |e|, doubled for euclidean
    e_norm_max = float(np.sqrt(sq.max())) if V else 0.0
    meter = BlockProgress(progress, n, block, label="nearest neighbours:")
    for start in range(0, n, block):
        stop = min(n, start + block)
        qb64 = q64[start:stop]
        qb = queries[start:stop]
        q_norm = np.linalg.norm(qb64, axis=1)
        err = (dim + 4) * _EPS32 * q_norm * e_norm_max * (1.0 if metric == "cosine" else 2.0)
        if metric == "euclidean":
            err = err + 4 * _EPS32 * sq.max()
        s32 = _scores(qb64.astype(np.float32), base32, sq32, metric)
        rows = np.arange(stop - start)
        s32[:, V:] = -np.inf
        s32[rows, qb] = -np.inf
        excl = None
        if exclude is not None:
            excl = exclude[start:stop]
            r, c = np.nonzero(excl >= 0)
            s32[r, excl[r, c]] = -np.inf
        cand, outside = _top_candidates(s32, m, n_chunks)
        exact = np.einsum("ij,icj->ic", qb64, base64[cand])
        if metric == "euclidean":
            exact = 2.0 * exact - sq[cand]
        exact[cand == qb[:, None]] = -np.inf
        if excl is not None:
            banned = (cand[:, :, None] == excl[:, None, :]).any(axis=2)
            exact[banned] = -np.inf
        order = np.lexsort((cand, -exact), axis=1)
        top = np.take_along_axis(cand, order[:, :k], axis=1)
        top_s = np.take_along_axis(exact, order[:, :k], axis=1)
        # guaranteed exact when the k-th exact score beats anything outside by more than the error
        unsure = ~(top_s[:, -1] > outside + 2 * err)
        unsure &= np.isfinite(outside)
        for i in np.flatnonzero(unsure):
            full = _scores(qb64[i : i + 1], base64, sq, metric)[0]
            full[qb[i]] = -np.inf
            if excl is not None:
                e = excl[i][excl[i] >= 0]
                full[e] = -np.inf
            o = np.lexsort((np.arange(V), -full))[:k]
            top[i], top_s[i] = o, full[o]
        out_idx[start:stop] = top
        out_score[start:stop] = top_s
        meter.done(start // block, stop)
    if metric == "euclidean":
        q_sq = np.einsum("ij,ij->i", q64, q64)[:, None]
        out_score = np.sqrt(np.maximum(q_sq - out_score, 0.0))
    return out_idx, out_score


def complete_playlists(
    emb: np.ndarray,
    playlists,
    k: int = 10,
    metric: str = "cosine",
    last: int = 1,
    progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Suggest ``k`` songs to continue each playlist: the nearest neighbours of its last song.

    This is the one code path behind both the ``evaluate`` step (each validation
    query is a one-song playlist) and ``track2vec suggest`` / ``Recommender.suggest``,
    so the suggestions a user gets are exactly the ones that were scored.

    Parameters
    ----------
    emb : numpy.ndarray, shape (V, dim), or track2vec.baselines.Baseline
        Embedding matrix (row i is song i), or a baseline, which ranks with its own
        :meth:`~track2vec.baselines.Baseline.complete` after the same checks.
    playlists : array-like of int, shape (n, m)
        Vocabulary indices of the songs of each playlist, in order, padded on the
        right with -1 (every row holds at least one song).
    k : int
        Number of suggestions per playlist.
    metric : {"cosine", "euclidean"}
    last : int
        Search from the last song (1, the default and the evaluated protocol) or
        from the mean of the last ``last`` songs (for cosine, the mean of their
        unit vectors).
    progress : callable, optional
        Progress lines for large query sets (see :func:`nearest_neighbours`).

    Returns
    -------
    indices : numpy.ndarray of int64, shape (n, k)
        Suggestions, nearest first; never a song of the playlist.
    scores : numpy.ndarray of float64, shape (n, k)
        As :func:`nearest_neighbours`.
    """
    P = np.atleast_2d(np.asarray(playlists, dtype=np.int64))
    if last < 1:
        raise ValueError(f"last must be at least 1, got {last}")
    present = P >= 0
    lengths = present.sum(axis=1)
    if (lengths == 0).any():
        raise ValueError("every playlist needs at least one song")
    if (present != (np.arange(P.shape[1]) < lengths[:, None])).any():
        raise ValueError("playlists must be padded with -1 on the right only")
    if (P >= emb.shape[0]).any():
        raise ValueError(f"song index out of range (the vocabulary has {emb.shape[0]} songs)")
    if hasattr(emb, "complete"):  # a baseline (track2vec.baselines.Baseline): same checks, its own ranking
        return emb.complete(P, k, last)
    rows = np.arange(len(P))
    queries = P[rows, lengths - 1]
    # the query itself is always excluded; the other songs of the playlist too
    exclude = P if P.shape[1] > 1 else None
    query_vectors = None
    if last > 1:
        base = np.asarray(emb, dtype=np.float64)
        if metric == "cosine":
            norms = np.linalg.norm(base, axis=1, keepdims=True)
            base = base / np.where(norms == 0, 1.0, norms)
        query_vectors = np.empty((len(P), emb.shape[1]))
        for i, (row, n) in enumerate(zip(P, lengths)):
            query_vectors[i] = base[row[max(0, n - last) : n]].mean(axis=0)
    return nearest_neighbours(emb, queries, k=k, metric=metric, exclude=exclude, query_vectors=query_vectors,
                              progress=progress)


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


def evaluate_pairs(emb, pairs: pd.DataFrame, k: int = 10, metric: str = "cosine", same_song: str = "miss",
                   progress: Callable[[str], None] | None = None) -> dict:
    """Score an embedding (or a baseline) on (query, target) pairs: suggestions for each
    query, then HR@k / NDCG@k.

    Parameters
    ----------
    emb : numpy.ndarray, shape (V, dim), or track2vec.baselines.Baseline
    pairs : pandas.DataFrame
        Columns ``query`` and ``target`` (vocabulary indices).
    k, metric, same_song
        See :func:`nearest_neighbours` and :func:`hr_ndcg`.
    progress : callable, optional
        Progress lines for large query sets (see :func:`nearest_neighbours`).

    Returns
    -------
    dict
        As :func:`hr_ndcg`, plus ``metric``.
    """
    queries = pairs["query"].to_numpy(dtype=np.int64)
    targets = pairs["target"].to_numpy(dtype=np.int64)
    # each query is a one-song playlist to complete: the same code path as `track2vec suggest`
    idx, _ = complete_playlists(emb, queries[:, None], k=k, metric=metric, progress=progress)
    out = hr_ndcg(idx, queries, targets, same_song=same_song)
    out["metric"] = metric
    return out


__all__.append("evaluate_pairs")
