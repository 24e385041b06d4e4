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
    "popularity_prior",
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
#: columns per chunk of the two-level top-m search (chunk j = columns j, j + n_chunks, j + 2 n_chunks, ...)
_CHUNK = 64
#: score of the padding columns (finite, so that the float32 product stays NaN-free)
_PAD = -1e30
#: float32 scores held per block of queries (block x padded vocabulary); 2**25 floats = 128 MiB
_BLOCK_FLOATS = 2**25
_EPS32 = float(np.finfo(np.float32).eps)


def _top_candidates(s: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices of the ``m`` largest entries of each row of ``s`` (in any order),
    and the largest entry left out of them.

    Two levels over ``_CHUNK`` interleaved chunks (chunk j = columns j + i * n_chunks):
    the m largest entries of a row lie in the (at most m) chunks whose maxima are the m
    largest chunk maxima, so an exact top-m needs the chunk maxima (one vectorised
    elementwise maximum over ``_CHUNK`` contiguous slices of the row), a partial sort of
    them, and a partial sort of the m chunks' entries, instead of a partial sort of the
    whole row.  ``s.shape[1]`` must be a multiple of ``_CHUNK``.
    """
    b, width = s.shape
    n_chunks = width // _CHUNK
    if n_chunks <= m:
        part = np.argpartition(-s, min(m, width - 1), axis=1)
        cand = part[:, :m]
        outside = s[np.arange(b), part[:, m]] if width > m else np.full(b, -np.inf)
        return cand, outside
    cmax = s.reshape(b, _CHUNK, n_chunks).max(axis=1)
    cpart = np.argpartition(-cmax, m, axis=1)
    top_chunks = cpart[:, :m]
    rows = np.arange(b)[:, None]
    best_left_chunk = cmax[rows[:, 0], cpart[:, m]]
    cols = (top_chunks[:, :, None] + n_chunks * np.arange(_CHUNK)).reshape(b, m * _CHUNK)
    vals = s[rows, cols]
    vpart = np.argpartition(-vals, m, axis=1)
    cand = np.take_along_axis(cols, vpart[:, :m], axis=1)
    outside = np.maximum(vals[rows[:, 0], vpart[:, m]], best_left_chunk)
    return cand, outside


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


def popularity_prior(counts: np.ndarray, weight: float) -> np.ndarray | None:
    """The per-song score ``weight * log(1 + count)`` that the ``popularity_prior`` hyperparameter adds.

    Parameters
    ----------
    counts : numpy.ndarray of int, shape (V,)
        Occurrences of each song in the training sequences.
    weight : float
        The entry's ``popularity_prior`` (>= 0); 0 means no prior.

    Returns
    -------
    numpy.ndarray of float64, shape (V,), or None
        None when ``weight`` is 0 (rank by similarity alone).

    Notes
    -----
    Ranking by ``cos(q, s) + weight * log(1 + count(s))`` is ranking by
    ``exp(cos / weight) * (1 + count)``: among songs equally similar to the query
    the more played one comes first, as it is the more likely next song. Cosine
    neighbours alone ignore popularity, which the next song's distribution does not
    (on the built-in data, popular songs of the query's genre were almost never in
    the cosine top 10, while they make a good share of the next songs).
    """
    counts = np.asarray(counts)
    if weight < 0 or not np.isfinite(weight):
        raise ValueError(f"popularity_prior must be a finite number >= 0, got {weight!r}")
    if (counts < 0).any():
        raise ValueError("counts must be >= 0")
    if weight == 0:
        return None
    return float(weight) * np.log1p(counts.astype(np.float64))


def _prepare(emb: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """float64 base vectors, their per-row "bias" and the translation applied.

    Scores are ``q . e + bias(e)``, higher is nearer: cosine: unit vectors, bias 0;
    euclidean: vectors centred on their mean (distances do not change, norms shrink,
    and so does the float32 error bound), bias ``-|e|^2 / 2`` (= ``-(|q - e|^2 - |q|^2) / 2``).
    """
    e64 = np.asarray(emb, dtype=np.float64)
    shift = None
    if metric == "cosine":
        norms = np.linalg.norm(e64, axis=1, keepdims=True)
        e64 = e64 / np.where(norms == 0, 1.0, norms)
        bias = np.zeros(len(e64))
    else:
        shift = e64.mean(axis=0) if len(e64) else None
        if shift is not None:
            e64 = e64 - shift
        bias = -0.5 * np.einsum("ij,ij->i", e64, e64)
    return e64, bias, shift


def _exact_pool(q: np.ndarray, pool: np.ndarray, base64: np.ndarray, bias: np.ndarray, banned, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top k of one query among the songs ``pool``, scored in float64 (ties: lower index)."""
    pool = np.setdiff1d(pool, banned)
    full = base64[pool] @ q + bias[pool]
    o = np.lexsort((pool, -full))[:k]
    return pool[o], full[o]


def nearest_neighbours(
    emb: np.ndarray,
    queries: np.ndarray,
    k: int = 10,
    metric: str = "cosine",
    exclude: np.ndarray | None = None,
    query_vectors: np.ndarray | None = None,
    block: int | None = None,
    progress: Callable[[str], None] | None = None,
    prior: np.ndarray | None = None,
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
    block : int, optional
        Queries scored per matrix product (memory: about 4 x block x V bytes);
        default: as many as fit in 128 MiB of float32 scores (at least 16).
    progress : callable, optional
        Receives a progress line about every tenth of the blocks (nothing for a
        single block), for example ``logger.info``.
    prior : numpy.ndarray of float, shape (V,), optional
        A per-song score added to the similarity (cosine) or to ``-distance**2 / 2``
        (euclidean) before ranking, for example :func:`popularity_prior`.

    Returns
    -------
    indices : numpy.ndarray of int64, shape (n, k)
        Neighbours, nearest first (highest similarity plus prior); ties go to the
        lower index.
    scores : numpy.ndarray of float64, shape (n, k)
        Cosine similarity, or Euclidean distance for ``metric="euclidean"`` (without
        the prior, which only reorders).

    Notes
    -----
    Exactness: with ``u = 2**-24``, a float32 dot product of length K of float64
    vectors rounded to float32 is within ``(K + 2) u (1 + 1e-6) sum_i |q_i e_i|`` of
    the exact one, whatever the summation order (Higham, Thm 3.1 plus the rounding
    of the inputs). The scores are ``[q, 1] . [e, bias(e)]`` (K = dim + 1), so
    ``sum_i |q_i e_i| <= |q| max|e| + max|bias|``; ``err`` below is twice that bound.
    A query is accepted when its k-th exact (float64) score beats the best float32
    score left out of its candidates by more than ``2 err``: no song outside the
    candidates can then reach the top k; any other query is re-scored in float64
    against the whole vocabulary.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    V = emb.shape[0]
    queries = np.asarray(queries, dtype=np.int64)
    if not 1 <= k <= V - 1:
        raise ValueError(f"k must be between 1 and {V - 1} (the vocabulary has {V} songs), got {k}")
    if exclude is None and query_vectors is None and len(queries):
        # the same query song has the same neighbours: search each distinct one once
        uq, inverse = np.unique(queries, return_inverse=True)
        if len(uq) < len(queries):
            idx, sc = nearest_neighbours(emb, uq, k=k, metric=metric, block=block, progress=progress, prior=prior)
            return idx[inverse], sc[inverse]
    n_excl = 1 + (0 if exclude is None else exclude.shape[1])
    base64, bias, shift = _prepare(emb, metric)
    if prior is not None:
        prior = np.asarray(prior, dtype=np.float64)
        if prior.shape != (V,) or not np.isfinite(prior).all():
            raise ValueError(f"prior must be {V} finite numbers (one per song), got shape {prior.shape}")
        bias = bias + prior
    n, dim = len(queries), emb.shape[1]
    if query_vectors is None:
        q64 = base64[queries]
    else:
        q64 = np.asarray(query_vectors, dtype=np.float64)
        if metric == "cosine":
            nq = np.linalg.norm(q64, axis=1, keepdims=True)
            q64 = q64 / np.where(nq == 0, 1.0, nq)
        elif shift is not None:
            q64 = q64 - shift
    e_norm = np.sqrt(np.einsum("ij,ij->i", base64, base64))
    q_norm_all = np.linalg.norm(q64, axis=1)
    # float32 copy, rows augmented with the bias, padded to whole chunks (padding scores _PAD).
    # Euclidean: rows sorted by norm, since |q - e| >= | |q| - |e| |, a query only needs the
    # songs whose norm is within an upper bound of its k-th distance of its own norm: a
    # contiguous range of rows; queries are processed in order of norm so that a block's
    # ranges overlap.
    n_chunks = -(-V // _CHUNK)
    width = n_chunks * _CHUNK
    if metric == "euclidean":
        perm = np.argsort(e_norm, kind="stable")
        q_order = np.argsort(q_norm_all, kind="stable")
    else:
        perm = np.arange(V)
        q_order = np.arange(n)
    rank = np.empty(V, dtype=np.int64)
    rank[perm] = np.arange(V)
    perm_pad = np.concatenate([perm, np.arange(V, width)])
    key = e_norm[perm]
    base32 = np.zeros((width, dim + 1), dtype=np.float32)
    base32[:V, :dim] = base64[perm]
    base32[:V, dim] = bias[perm]
    base32[V:, dim] = _PAD
    m = min(V, k + n_excl + _MARGIN)
    out_idx = np.empty((n, k), dtype=np.int64)
    out_score = np.empty((n, k), dtype=np.float64)
    e_norm_max = float(e_norm.max())
    bias_max = float(np.abs(bias).max())
    n_probe = min(V, 2048)   # the most frequent songs (lowest indices): an upper bound on the k-th distance
    if block is None:
        block = max(16, _BLOCK_FLOATS // width)
    bmax = min(block, max(n, 1))
    qa = np.ones((bmax, dim + 1), dtype=np.float32)
    s32_buf = np.empty(bmax * width, dtype=np.float32)
    meter = BlockProgress(progress, n, block, label="nearest neighbours:")
    for start in range(0, n, block):
        sel = q_order[start : start + block]
        b = len(sel)
        qb64 = q64[sel]
        qb = queries[sel]
        excl = None if exclude is None else exclude[sel]
        q_norm = q_norm_all[sel]
        err = 2.0 * (dim + 3) * (_EPS32 / 2) * (1 + 1e-6) * (q_norm * e_norm_max + bias_max)
        lo, hi = 0, width
        if metric == "euclidean" and prior is None:   # the norm band holds for plain distances only
            # upper bound on each query's k-th distance: its k-th nearest among the probe songs
            probe = qb64 @ base64[:n_probe].T + bias[:n_probe]
            own = qb < n_probe
            probe[np.flatnonzero(own), qb[own]] = -np.inf
            if excl is not None:
                r, c = np.nonzero((excl >= 0) & (excl < n_probe))
                probe[r, excl[r, c]] = -np.inf
            if n_probe - n_excl >= k:
                kth = -np.partition(-probe, k - 1, axis=1)[:, k - 1]
                d2 = np.maximum(q_norm**2 - 2.0 * kth, 0.0) + 1e-12 * (1.0 + q_norm**2 + e_norm_max**2)
                reach = np.sqrt(d2) * (1 + 1e-9) + 1e-12
                lo_q = np.searchsorted(key, q_norm - reach, side="left")
                hi_q = np.searchsorted(key, q_norm + reach, side="right")
                lo = int(lo_q.min()) // _CHUNK * _CHUNK
                hi = width if hi_q.max() >= V else -(-int(hi_q.max()) // _CHUNK) * _CHUNK
                hi = max(hi, lo + _CHUNK * (m + 1))
                if hi > width:
                    lo, hi = max(0, width - (hi - lo)), width
        w = hi - lo
        s32 = s32_buf[: b * w].reshape(b, w)
        qa[:b, :dim] = qb64
        np.matmul(qa[:b], base32[lo:hi].T, out=s32)
        rows = np.arange(b)
        col = rank[qb] - lo
        inside = (col >= 0) & (col < w)
        s32[rows[inside], col[inside]] = -np.inf
        if excl is not None:
            r, c = np.nonzero(excl >= 0)
            col = rank[excl[r, c]] - lo
            inside = (col >= 0) & (col < w)
            s32[r[inside], col[inside]] = -np.inf
        cand_pos, outside = _top_candidates(s32, m)
        cand = perm_pad[lo + cand_pos]
        valid = cand < V
        cand = np.where(valid, cand, 0)
        exact = np.einsum("ij,icj->ic", qb64, base64[cand]) + bias[cand]
        exact[~valid | (cand == qb[:, None])] = -np.inf
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
            # every song of the true top k scores at least the k-th candidate's exact score
            # (the candidates are a subset), so its float32 score is above that minus err:
            # re-score in float64 exactly the songs whose float32 score passes that threshold
            pool = perm_pad[lo + np.flatnonzero(s32[i] >= top_s[i, -1] - 2 * err[i])]
            pool = pool[pool < V]
            banned_i = [qb[i]] if excl is None else np.append(excl[i][excl[i] >= 0], qb[i])
            top[i], top_s[i] = _exact_pool(qb64[i], pool, base64, bias, banned_i, k)
        out_idx[sel] = top
        out_score[sel] = top_s
        meter.done(start // block, min(n, start + block))
    if prior is not None:
        out_score = out_score - prior[out_idx]
    if metric == "euclidean":
        q_sq = np.einsum("ij,ij->i", q64, q64)[:, None]
        out_score = np.sqrt(np.maximum(q_sq - 2.0 * out_score, 0.0))
    return out_idx, out_score


def complete_playlists(
    emb: np.ndarray,
    playlists,
    k: int = 10,
    metric: str = "cosine",
    last: int = 1,
    progress: Callable[[str], None] | None = None,
    prior: np.ndarray | None = None,
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
    prior : numpy.ndarray, shape (V,), optional
        Per-song score added before ranking (see :func:`popularity_prior`); not
        used by baselines.

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
                              progress=progress, prior=prior)


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
                   progress: Callable[[str], None] | None = None, prior: np.ndarray | None = None) -> dict:
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
    prior : numpy.ndarray, shape (V,), optional
        See :func:`complete_playlists`.

    Returns
    -------
    dict
        As :func:`hr_ndcg`, plus ``metric``.
    """
    queries = pairs["query"].to_numpy(dtype=np.int64)
    targets = pairs["target"].to_numpy(dtype=np.int64)
    # each query is a one-song playlist to complete: the same code path as `track2vec suggest`
    idx, _ = complete_playlists(emb, queries[:, None], k=k, metric=metric, progress=progress, prior=prior)
    out = hr_ndcg(idx, queries, targets, same_song=same_song)
    out["metric"] = metric
    return out


__all__.append("evaluate_pairs")
