"""Exact nearest neighbours of songs in an embedding, by cosine or Euclidean distance.

Usage::

    from track2vec.knn import nearest_neighbours

    idx, scores = nearest_neighbours(emb, queries, k=10, metric="cosine")

The search is exact: it returns the float64 ranking of every song, ties to the lower
index (the more frequent song). faiss's exact inner-product index finds each query's best
candidates in float32; they are re-scored in float64, and a query whose float32 candidates
cannot vouch for its top k (a rigorous rounding bound) is scored against every song. Why
this is exact: :func:`nearest_neighbours`, Notes, and docs/evaluation.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from .progress import BlockProgress

__all__ = ["METRICS", "nearest_neighbours", "search_memory_bytes"]

#: distance measures for neighbour search
METRICS = ("cosine", "euclidean")

#: float64 numbers per chunk when the base vectors are made or used in slices (2**22: 32 MiB)
_CHUNK_FLOATS = 2**22


class _Rows:
    """The base vectors of :func:`_prepare` in float64, made from the embedding on demand.

    Holding them as a V x dim float64 copy would take twice the memory of a float32
    embedding; instead rows are converted (and scaled or shifted) when indexed, with the
    same operations, so every value is the one a full copy would hold.

    Supports ``rows[idx]`` (float64 rows), ``rows @ q`` (all scores, in slices),
    ``rows.astype(dtype)`` (a full copy) and ``shape``.
    """

    def __init__(self, emb: np.ndarray, metric: str) -> None:
        self._emb = np.asarray(emb)
        self.shape = self._emb.shape
        self._scale = None
        self.shift = None
        if metric == "cosine":
            norms = np.empty(self.shape[0])
            for s, e in self._slices():
                norms[s:e] = np.linalg.norm(np.asarray(self._emb[s:e], dtype=np.float64), axis=1)
            self._scale = np.where(norms == 0, 1.0, norms)
        elif len(self._emb):
            total = np.zeros(self.shape[1])
            for s, e in self._slices():
                total += np.asarray(self._emb[s:e], dtype=np.float64).sum(axis=0)
            self.shift = total / len(self._emb)

    def _slices(self):
        step = max(1, _CHUNK_FLOATS // max(1, self.shape[1]))
        for s in range(0, self.shape[0], step):
            yield s, min(self.shape[0], s + step)

    def __getitem__(self, idx) -> np.ndarray:
        x = np.array(self._emb[idx], dtype=np.float64)
        if self._scale is not None:
            x /= np.asarray(self._scale[idx])[..., None]
        elif self.shift is not None:
            x -= self.shift
        return x

    def __matmul__(self, q: np.ndarray) -> np.ndarray:
        out = np.empty(self.shape[0])
        for s, e in self._slices():
            out[s:e] = self[s:e] @ q
        return out

    def astype(self, dtype) -> np.ndarray:
        out = np.empty(self.shape, dtype=dtype)
        for s, e in self._slices():
            out[s:e] = self[s:e]
        return out

    def sq_norms(self) -> np.ndarray:
        """``|e|^2`` of every base vector."""
        out = np.empty(self.shape[0])
        for s, e in self._slices():
            x = self[s:e]
            out[s:e] = np.einsum("ij,ij->i", x, x)
        return out


def _prepare(emb: np.ndarray, metric: str) -> tuple[_Rows, np.ndarray, np.ndarray | None]:
    """Base vectors (float64, see :class:`_Rows`), their per-row "bias" and the translation applied.

    Scores are ``q . e + bias(e)``, higher is nearer: cosine: unit vectors, bias 0;
    euclidean: vectors centred on their mean (distances do not change, norms shrink,
    and so does the float32 error bound), bias ``-|e|^2 / 2`` (= ``-(|q - e|^2 - |q|^2) / 2``).
    """
    rows = _Rows(emb, metric)
    bias = np.zeros(rows.shape[0]) if metric == "cosine" else -0.5 * rows.sq_norms()
    return rows, bias, rows.shift


#: queries searched together by default, up to _BLOCK_DIM dimensions; proportionally fewer beyond
_BLOCK = 8192
_BLOCK_DIM = 256
#: up to this many queries, each is scored in float64 against every song, without an index
_FEW_QUERIES = 8
#: float32 candidates per query beyond k + 1 + its exclusions, re-scored in float64
_MARGIN = 16


def _default_threads() -> int:
    """faiss's OpenMP threads: ``OMP_NUM_THREADS`` where it is set (Snakemake sets it to a job's
    ``threads``, so a job uses the cores it asked for), else the cores this process may use, at most 4."""
    setting = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if setting.isdigit() and int(setting) >= 1:
        return int(setting)
    return min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


#: faiss's OpenMP threads (:func:`_default_threads`)
_THREADS = _default_threads()
#: float32 scores faiss holds while it scores a block of queries against a block of songs
#: (its distance_compute_blas_query_bs x distance_compute_blas_database_bs)
_FAISS_BLOCK_FLOATS = 4096 * 1024
_EPS32 = float(np.finfo(np.float32).eps)


def _exact_all(q: np.ndarray, base64: np.ndarray, bias: np.ndarray, banned, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top k of one query among all songs, scored in float64 (ties: lower index)."""
    full = base64 @ q + bias
    full[np.asarray(banned, dtype=np.int64)] = -np.inf
    if np.count_nonzero(np.isfinite(full)) < k:
        raise ValueError(f"fewer than k={k} songs are left to suggest once the query and its exclusions are removed")
    part = np.argpartition(-full, k)[: k + 1] if len(full) > k + 1 else np.arange(len(full))
    kth = np.sort(full[part])[::-1][k - 1]
    pool = np.flatnonzero(full >= kth)
    o = np.lexsort((pool, -full[pool]))[:k]
    return pool[o], full[pool[o]]


def _index(base64: _Rows, bias: np.ndarray):
    """faiss's exact inner-product index of the rows ``[e, bias(e)]`` in float32, added in slices,
    and the largest ``|e|`` (for the error bound), from the same float64 slices."""
    import faiss

    V, d = base64.shape
    index = faiss.IndexFlatIP(d + 1)
    sq_max = 0.0
    for s, e in base64._slices():
        rows = base64[s:e]
        sq_max = max(sq_max, float(np.einsum("ij,ij->i", rows, rows).max()))
        x = np.empty((e - s, d + 1), dtype=np.float32)
        x[:, :d] = rows
        x[:, d] = bias[s:e]
        index.add(x)
    return index, float(np.sqrt(sq_max))


def _banned(cand: np.ndarray, qsong: np.ndarray, excl: np.ndarray | None, V: int) -> np.ndarray:
    """Which candidates are the query itself or among its exclusions (-1 = none)."""
    banned = cand == qsong[:, None]
    if excl is not None and excl.size:
        r, j = np.nonzero(excl >= 0)
        keys = r.astype(np.int64) * V + excl[r, j]
        banned |= np.isin(np.arange(len(cand), dtype=np.int64)[:, None] * V + cand, keys)
    return banned


def _search_block(index, q64, qsong, excl, err, base64, bias, k):
    """Exact top k of a block of queries: faiss's float32 candidates, re-scored in float64."""
    b, d = q64.shape
    V = base64.shape[0]
    m = 0 if excl is None else int((excl >= 0).sum(axis=1).max(initial=0))
    kk = min(V, k + 1 + m + _MARGIN)
    qx = np.empty((b, d + 1), dtype=np.float32)
    qx[:, :d] = q64
    qx[:, d] = 1.0
    s32, cand = index.search(qx, kk)
    cand = cand.astype(np.int64)
    exact = np.empty((b, kk))
    step = max(1, _CHUNK_FLOATS // max(1, kk * d))
    for s in range(0, b, step):  # float64 rows of the candidates, a slice of queries at a time
        c = cand[s : s + step]
        rows = base64[c.ravel()].reshape(len(c), kk, d)
        exact[s : s + step] = np.matmul(rows, q64[s : s + step, :, None])[..., 0] + bias[c]
    exact[_banned(cand, qsong, excl, V)] = -np.inf
    order = np.lexsort((cand, -exact), axis=1)[:, :k]
    top = np.take_along_axis(cand, order, axis=1)
    top_s = np.take_along_axis(exact, order, axis=1)
    kth = top_s[:, -1]
    # a song outside the candidates scores at most s32[:, -1] + err / 2 exactly
    unsure = ~np.isfinite(kth)
    if kk < V:
        unsure |= s32[:, -1].astype(np.float64) + err / 2 >= kth
    for i in np.flatnonzero(unsure):
        ban = [qsong[i]] if excl is None else np.append(excl[i][excl[i] >= 0], qsong[i])
        top[i], top_s[i] = _exact_all(q64[i], base64, bias, ban, k)
    return top, top_s


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
    normalize_queries: bool = True,
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
        example a weighted sum of the unit vectors of a playlist's songs);
        ``queries`` are still excluded.
    normalize_queries : bool
        Cosine: scale ``query_vectors`` to unit length (True), or score them as given
        (False: the score of a song is then ``q . e / |e|``, the weighted sum of its
        cosines with the songs whose unit vectors ``q`` sums).
    block : int, optional
        Queries searched together (memory grows with it: their float32 candidates and
        float64 scores; :func:`search_memory_bytes`); default 8,192 up to 256
        dimensions, proportionally fewer beyond.
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

    Raises
    ------
    ValueError
        Unknown metric, k out of range, or fewer than k songs left for a query once
        it and its exclusions are removed.

    Notes
    -----
    Scores are ``s(q, e) = q . e + bias(e)`` on the vectors of :func:`_prepare`, higher is
    nearer. faiss's exact inner-product index holds ``[e, bias(e)]`` in float32; for each block
    of queries ``[q, 1]`` it returns the ``kk = k + 1 + m + _MARGIN`` best float32 scores
    (``m``: the most exclusions of a query in the block), which are re-scored in float64 and
    sorted (ties: lower index). A song outside those ``kk`` scores at most the ``kk``-th float32
    score ``t`` in float32, so at most ``t + err / 2`` exactly; where that is below the k-th
    best exact score, the result is the float64 ranking. Any other query (near ties at the
    boundary, or too many exclusions among the candidates) is re-scored in float64 against
    every song, and so is every query when there are at most ``_FEW_QUERIES`` of them (a radio
    step). ``err``: with ``u = 2**-24``, a float32 dot product of length K of float64 vectors
    rounded to float32 is within ``(K + 2) u (1 + 1e-6) sum_i |q_i e_i|`` of the exact one,
    whatever the summation order (Higham, Thm 3.1 plus the rounding of the inputs). The scores
    are ``[q, 1] . [e, bias(e)]`` (K = dim + 1), so ``sum_i |q_i e_i| <= |q| max|e| + max|bias|``;
    ``err`` is twice that bound.
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
    if exclude is not None:
        exclude = np.asarray(exclude, dtype=np.int64)
    return _nearest(emb, queries, k, metric, exclude, query_vectors, block, progress, prior, normalize_queries)


def _nearest(emb, queries, k, metric, exclude, query_vectors, block, progress, prior=None, normalize_queries=True):
    """:func:`nearest_neighbours` once its arguments are checked."""
    V = emb.shape[0]
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
        if metric == "cosine" and normalize_queries:
            nq = np.linalg.norm(q64, axis=1, keepdims=True)
            q64 = q64 / np.where(nq == 0, 1.0, nq)
        elif shift is not None:
            q64 = q64 - shift
    out_idx = np.empty((n, k), dtype=np.int64)
    out_score = np.empty((n, k), dtype=np.float64)
    if n <= _FEW_QUERIES:
        # a radio step or a few playlists: one float64 product over all songs per query
        # costs less than building the index (same ranking, ties: lower index)
        for i in range(n):
            ban = [queries[i]] if exclude is None else np.append(exclude[i][exclude[i] >= 0], queries[i])
            out_idx[i], out_score[i] = _exact_all(q64[i], base64, bias, ban, k)
        return _final_scores(out_idx, out_score, q64, metric, prior)
    import faiss

    faiss.omp_set_num_threads(_THREADS)
    bias_max = float(np.abs(bias).max())
    q_norm_all = np.linalg.norm(q64, axis=1)
    index, e_norm_max = _index(base64, bias)
    if block is None:
        block = _block_of(dim)
    meter = BlockProgress(progress, n, block, label="nearest neighbours:")
    for start in range(0, n, block):
        sel = slice(start, min(n, start + block))
        err = 2.0 * (dim + 3) * (_EPS32 / 2) * (1 + 1e-6) * (q_norm_all[sel] * e_norm_max + bias_max)
        excl = None if exclude is None else exclude[sel]
        out_idx[sel], out_score[sel] = _search_block(index, q64[sel], queries[sel], excl, err, base64, bias, k)
        meter.done(start // block, min(n, start + block))
    return _final_scores(out_idx, out_score, q64, metric, prior)


def _final_scores(out_idx, out_score, q64, metric, prior):
    """The neighbours and their similarity (cosine) or distance (euclidean), the prior taken out."""
    if prior is not None:
        out_score = out_score - prior[out_idx]
    if metric == "euclidean":
        q_sq = np.einsum("ij,ij->i", q64, q64)[:, None]
        out_score = np.sqrt(np.maximum(q_sq - 2.0 * out_score, 0.0))
    return out_idx, out_score


def search_memory_bytes(n_songs: int, dim: int, n_queries: int | None = None, k: int = 10, n_excluded: int = 0) -> int:
    """An upper bound of the memory (bytes) :func:`nearest_neighbours` allocates for a search,
    beyond its arguments: :func:`_numpy_bytes` plus faiss's index and scoring buffer.

    Parameters
    ----------
    n_songs : int
        Songs in the embedding (V).
    dim : int
        Its dimensions.
    n_queries : int, optional
        Queries (their distinct songs are searched once each when nothing is excluded);
        default: one full block.
    k : int
        Neighbours per query.
    n_excluded : int
        Columns of ``exclude`` (songs never to suggest per query).
    """
    V, d = max(2, int(n_songs)), max(1, int(dim))
    n = _block_of(d) if n_queries is None else max(0, int(n_queries))
    faiss_part = 0 if n <= _FEW_QUERIES else 4 * V * (d + 1) + 4 * _FAISS_BLOCK_FLOATS
    return _numpy_bytes(V, d, n_queries, k, n_excluded) + faiss_part


def _block_of(d: int) -> int:
    """The default block of queries at ``d`` dimensions: the float32 error bound, hence the near
    ties re-scored in full, grows with the dimension."""
    return max(256, min(_BLOCK, _BLOCK * _BLOCK_DIM // max(d, 1)))


def _numpy_bytes(n_songs: int, dim: int, n_queries: int | None = None, k: int = 10, n_excluded: int = 0) -> int:
    """The part of :func:`search_memory_bytes` numpy allocates (what tracemalloc sees): per-song
    scales, bias, norms; the query vectors and results; a block's float32 queries, faiss's
    results, the float64 re-scoring in slices, the exclusion keys; a query re-scored in full."""
    V, d, m = max(2, int(n_songs)), max(1, int(dim)), max(0, int(n_excluded))
    n = _block_of(d) if n_queries is None else max(0, int(n_queries))
    rows_slice = 8 * min(V * d, _CHUNK_FLOATS)
    per_song = 6 * 8 * V
    per_query = n * (16 * d + 32 + 16 * k)
    full_row = 2 * rows_slice + 6 * 8 * V
    if n <= _FEW_QUERIES:
        return per_song + per_query + full_row
    b = min(n, _block_of(d))
    kk = min(V, k + 1 + m + _MARGIN)
    chunk = min(b * kk * d, max(kk * d, _CHUNK_FLOATS))  # candidates' float64 rows re-scored at a time
    # float32 queries; faiss's scores and ids, the ids as int64, exact scores, their order and
    # the banned mask; the candidates' rows (and their float32 gather); the exclusion keys
    block = 4 * b * (d + 1) + 12 * b * kk + 48 * b * kk + 12 * chunk + 32 * b * m
    # setting up: the float32 slice added to the index and the float64 rows it is made from
    setup = 4 * min(V, _CHUNK_FLOATS // d + 1) * (d + 1) + 2 * rows_slice
    return per_song + per_query + max(setup, block + full_row)
