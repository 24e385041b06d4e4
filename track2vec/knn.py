"""Exact nearest neighbours of songs in an embedding, by cosine or Euclidean distance.

Usage::

    from track2vec.knn import nearest_neighbours

    idx, scores = nearest_neighbours(emb, queries, k=10, metric="cosine")

The search is exact: it returns the float64 ranking of every song, ties to the lower
index (the more frequent song). It cuts the songs into tiles whose geometry bounds the
best score any of their songs can reach, scores only the tiles that can hold a query's
top k (float32 products, tile by tile), and re-scores in float64 only the songs whose
float32 score is within a rigorous rounding bound of the k-th best. Why this is exact:
:func:`nearest_neighbours`, Notes, and docs/evaluation.md.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import weakref
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


#: target number of songs per tile of the search index (the vocabulary is cut into about V / _TILE tiles)
_TILE = 512
#: Lloyd iterations of the k-means cuts, and sample points per k-means cell
_KMEANS_ITERS = 4
_KMEANS_SAMPLE = 32
#: float32 scores held per tile product (rows x tile songs); 2**23 floats = 32 MiB
_TILE_FLOATS = 2**23
#: tiles scored first for each query (its most promising ones), to bound its k-th score
_PHASE_A = 4
#: queries searched together by default (one bound matrix of block x tiles, one candidate list),
#: up to _BLOCK_DIM dimensions; proportionally fewer beyond
_BLOCK = 8192
_BLOCK_DIM = 256
#: up to this many queries, each is scored in float64 against every song, without building tiles
_FEW_QUERIES = 8
#: candidate songs per query above which the query is re-scored in float64 against every song
_MAX_CAND = 4096
#: threads scoring tiles (each with single-threaded BLAS)
_THREADS = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
_EPS32 = float(np.finfo(np.float32).eps)


def _partition(base64: np.ndarray, tile: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The songs in tile order and the tile sizes, ``(perm, cnt)``: a deterministic
    function of the base vectors (not of the bias, so one partition serves every prior).

    About sqrt(T) k-means cells, each cut by k-means again into cells of about ``tile``
    songs, so that assigning the songs costs V x (sqrt(T) + cells) products instead of
    V x T. Any partition keeps the search exact; a good one only makes it faster.
    """
    V = base64.shape[0]
    n_tiles = max(1, V // max(1, tile))
    if n_tiles == 1:
        return np.arange(V), np.array([V])
    rng = np.random.default_rng(seed)
    b32 = base64.astype(np.float32)
    n1 = max(1, int(round(np.sqrt(n_tiles))))
    lab1 = _kmeans(b32, n1, rng)
    perm = np.argsort(lab1, kind="stable")
    sizes = []
    for j0, j1 in zip(*_segments(np.bincount(lab1, minlength=n1))):
        if j1 > j0:
            sizes += _cut_cell(base64, b32, perm, j0, j1, tile, rng)
    return perm, np.concatenate(sizes)


def _cut_cell(base64, b32, perm, j0: int, j1: int, tile: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Cut the first-level cell ``perm[j0:j1]`` into tiles, reordering it in place; the tile sizes.

    k-means cuts it into cells of about ``tile`` songs; a cell that k-means leaves much
    larger than ``tile`` (a diffuse cloud) is cut into slabs along its principal direction.
    """
    idx = perm[j0:j1]
    lab = _kmeans(b32[idx], max(1, int(round((j1 - j0) / tile))), rng)
    idx = idx[np.argsort(lab, kind="stable")]
    perm[j0:j1] = idx
    sizes = []
    for c0, c1 in zip(*_segments(np.bincount(lab))):
        n = c1 - c0
        if n == 0:
            continue
        if n > 2 * tile:
            n_parts = -(-n // tile)
            cell = idx[c0:c1]
            perm[j0 + c0 : j0 + c1] = cell[np.argsort(_principal(base64[cell]), kind="stable")]
            sizes.append(np.diff(np.linspace(0, n, n_parts + 1).round().astype(np.int64)))
        else:
            sizes.append(np.array([n]))
    return sizes


def _segments(cnt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of each segment of sizes ``cnt``."""
    ends = np.cumsum(cnt)
    return ends - cnt, ends


def _principal(x: np.ndarray) -> np.ndarray:
    """Projection of the rows of ``x`` on (an approximation of) their principal direction:
    a few power iterations from a fixed start."""
    d = x - x.mean(axis=0)
    w = np.ones(x.shape[1], dtype=x.dtype)
    for _ in range(3):
        w = d.T @ (d @ w)
        w /= max(float(np.abs(w).max()), 1e-30)
    return d @ w


def _kmeans(x: np.ndarray, n_c: int, rng: np.random.Generator) -> np.ndarray:
    """Cell of each row of ``x`` (float32) among ``n_c`` k-means cells: centres from
    ``_KMEANS_ITERS`` Lloyd iterations on a sample of ``_KMEANS_SAMPLE`` rows per cell,
    then every row assigned to its nearest centre."""
    if n_c <= 1 or len(x) <= n_c:
        return np.zeros(len(x), dtype=np.int64) if n_c <= 1 else np.arange(len(x))
    sample = x[np.sort(rng.choice(len(x), min(len(x), _KMEANS_SAMPLE * n_c), replace=False))]
    cent = sample[np.sort(rng.choice(len(sample), n_c, replace=False))].copy()
    for _ in range(_KMEANS_ITERS):
        lab = _nearest_centre(sample, cent)
        cnt = np.bincount(lab, minlength=n_c)
        sums = np.zeros(cent.shape)
        _sum_by(sums, lab, sample)
        nz = cnt > 0
        cent[nz] = (sums[nz] / cnt[nz, None]).astype(np.float32)
    return _nearest_centre(x, cent)


def _nearest_centre(x: np.ndarray, cent: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of each row of ``x`` (float32, in chunks)."""
    half = 0.5 * np.einsum("ij,ij->i", cent, cent)
    out = np.empty(len(x), dtype=np.int64)
    step = max(1, 2**22 // len(cent))
    for s in range(0, len(x), step):
        out[s : s + step] = np.argmax(x[s : s + step] @ cent.T - half, axis=1)
    return out


def _sum_by(sums: np.ndarray, lab: np.ndarray, x: np.ndarray) -> None:
    """``sums[j] += x[lab == j].sum(0)`` for every j (sorted segments, one reduceat)."""
    o = np.argsort(lab, kind="stable")
    sl = lab[o]
    heads = np.flatnonzero(np.r_[True, sl[1:] != sl[:-1]])
    sums[sl[heads]] += np.add.reduceat(x[o].astype(np.float64), heads, axis=0)


class _Tiles:
    """The songs cut into tiles, with what bounds the best score a tile's songs can reach.

    Parameters
    ----------
    base64 : numpy.ndarray of float64 or _Rows, shape (V, dim)
        Base vectors from :func:`_prepare`.
    bias : numpy.ndarray of float64, shape (V,)
        Their bias (scores are ``q . e + bias(e)``).
    e_sq : numpy.ndarray of float64, shape (V,)
        ``|e|^2`` of each base vector.
    tile : int
        Target number of songs per tile.
    seed : int
        Seed of the k-means samples: the tiles are a deterministic function of the input.
    partition : tuple of numpy.ndarray, optional
        ``(perm, cnt)`` from :func:`_partition`, when already known.

    Notes
    -----
    Any partition keeps the search exact; a good one makes it faster. The songs get two
    levels of k-means on their base vectors (unit vectors for cosine, centred raw vectors
    for Euclidean), and a cell left much larger than ``tile`` is cut into slabs along its
    principal direction (:func:`_partition`).

    Attributes
    ----------
    perm : numpy.ndarray of int64, shape (V,)
        Songs in tile order: tile t holds ``perm[starts[t]:starts[t + 1]]``.
    rank : numpy.ndarray of int64, shape (V,)
        Position of each song in tile order (the inverse of ``perm``).
    starts : numpy.ndarray of int64, shape (T + 1,)
    size : numpy.ndarray of int64, shape (T,)
    centre : numpy.ndarray of float64, shape (T, dim)
        Mean of each tile's base vectors.
    centre_sq : numpy.ndarray of float64, shape (T,)
        ``|centre|^2``.
    radius : numpy.ndarray of float64, shape (T,)
        Largest distance of a tile's vector from its centre (rounded up).
    norm_min, norm_max : numpy.ndarray of float64, shape (T,)
        Smallest and largest norm in each tile (rounded outwards).
    bias_max, bias_mean, g_max : numpy.ndarray of float64, shape (T,)
        Largest and mean ``bias(e)``, and largest ``bias(e) + |e|^2 / 2``, in each tile.
    base32 : numpy.ndarray of float32, shape (V, dim + 1)
        ``[e, bias(e)]`` in tile order, for the float32 products.
    """

    def __init__(
        self,
        base64: np.ndarray,
        bias: np.ndarray,
        e_sq: np.ndarray,
        tile: int,
        seed: int = 0,
        partition: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        V, dim = base64.shape
        perm, cnt = partition if partition is not None else _partition(base64, tile, seed)
        self.perm = perm
        self.rank = np.empty(V, dtype=np.int64)
        self.rank[perm] = np.arange(V)
        self.size = cnt.astype(np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.size)])
        n_t = len(self.size)
        self.centre = np.empty((n_t, dim))
        self.radius = np.empty(n_t)
        self.base32 = np.empty((V, dim + 1), dtype=np.float32)
        for t, (s, e) in enumerate(zip(self.starts[:-1], self.starts[1:])):
            x = base64[perm[s:e]]
            self.base32[s:e, :dim] = x
            c = x.mean(axis=0)
            x -= c
            self.centre[t] = c
            self.radius[t] = np.sqrt(np.einsum("ij,ij->i", x, x).max())
        self.radius *= 1 + 1e-9
        self.centre_sq = np.einsum("ij,ij->i", self.centre, self.centre)
        b = bias[perm]
        heads = self.starts[:-1]
        self.bias_max = np.maximum.reduceat(b, heads)
        self.bias_mean = np.add.reduceat(b, heads) / self.size
        self.g_max = np.maximum.reduceat(b + 0.5 * e_sq[perm], heads)
        norm = np.sqrt(e_sq[perm])
        self.norm_min = np.minimum.reduceat(norm, heads) * (1 - 1e-12)
        self.norm_max = np.maximum.reduceat(norm, heads) * (1 + 1e-12)
        self.base32[:, dim] = b

    def bounds(self, q64: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Upper bound of ``q . e + bias(e)`` over each tile, for each query (shape (n, T)),
        and the products ``q . c`` with the tile centres.

        The smallest of four bounds, each valid for any bias. Write ``bias(e) = g(e) - |e|^2 / 2``,
        so that ``q . e + bias(e) = |q|^2 / 2 - |q - e|^2 / 2 + g(e)``; with the tile's centre
        ``c``, radius ``r`` and norms in ``[n0, n1]``:

        * ``q . c + |q| r + max bias`` (Cauchy-Schwarz on ``e - c``);
        * ``|q|^2 / 2 - max(0, |q - c| - r)^2 / 2 + max g`` (``|q - e| >= |q - c| - r``);
        * ``n (|q| - n / 2) + max g`` with ``n = clip(|q|, n0, n1)`` (``|q - e| >= ||q| - |e||``);
        * ``|q| n1 + max bias`` (``q . e <= |q| |e|``).

        Euclidean (g = 0) gets the ball and the annulus around the origin, unit vectors
        (g = 1/2) the spherical cap, raw inner products (bias 0) the first and last. A
        relative slack of 1e-9 covers the float64 rounding of the bounds and of the scores.
        """
        qc = q64 @ self.centre.T
        out = np.empty_like(qc)
        q_sq_all = np.einsum("ij,ij->i", q64, q64)[:, None]
        # slack: a relative 1e-9 of the largest term, per query (the terms are bounded by
        # |q|^2, |q| (|c| + r + max norm), |max bias|, |max g| and max norm^2)
        big = np.sqrt(self.centre_sq) + self.radius + self.norm_max
        other = np.abs(self.bias_max) + np.abs(self.g_max) + self.norm_max**2
        slack_all = 1e-9 * (q_sq_all + np.sqrt(q_sq_all) * big.max() + other.max() + 1e-300)
        for s in range(0, len(q64), 256):  # in chunks: the temporaries stay in cache
            c = qc[s : s + 256]
            q_sq = q_sq_all[s : s + 256]
            q_norm = np.sqrt(q_sq)
            lin = c + q_norm * self.radius + self.bias_max
            d2 = q_sq - 2.0 * c + self.centre_sq
            d = np.sqrt(np.maximum(d2 - 1e-12 * (q_sq + self.centre_sq), 0.0))
            tri = 0.5 * q_sq - 0.5 * np.maximum(d - self.radius, 0.0) ** 2 + self.g_max
            n_best = np.clip(q_norm, self.norm_min, self.norm_max)
            ann = n_best * (q_norm - 0.5 * n_best) + self.g_max
            cs = q_norm * self.norm_max + self.bias_max
            np.minimum(np.minimum(lin, tri), np.minimum(ann, cs), out=out[s : s + 256])
            out[s : s + 256] += slack_all[s : s + 256]
        return out, qc


def _map(fn, items):
    """``map(fn, items)`` on ``_THREADS`` threads (numpy and BLAS release the GIL), in order."""
    items = list(items)
    if _THREADS < 2 or len(items) < 2:
        return map(fn, items)
    with concurrent.futures.ThreadPoolExecutor(_THREADS) as pool:
        return list(pool.map(fn, items))


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


def _within_float32_kth(
    rows: np.ndarray, songs: np.ndarray, s32: np.ndarray, err: np.ndarray, b: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidates (row, song, float32 score) whose score is at least their row's k-th best
    float32 score minus ``1.5 err[row]`` (rows with fewer than k candidates keep them all).

    One sort of a 64-bit key (row, then the score's bits made order-preserving as an
    unsigned integer) finds every row's k-th best score."""
    if len(rows) == 0:
        return rows, songs, s32
    u = np.ascontiguousarray(s32, dtype=np.float32).view(np.uint32)
    flip = np.where(u >> np.uint32(31), np.uint32(0xFFFFFFFF), np.uint32(0x80000000))
    key = (rows.astype(np.uint64) << np.uint64(32)) | (u ^ flip).astype(np.uint64)  # ascending score in a row
    key.sort()
    cnt = np.bincount(rows, minlength=b)
    ends = np.cumsum(cnt)
    kth = np.full(b, -np.inf)
    full = cnt >= k
    kb = (key[ends[full] - k] & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    kb ^= np.where(kb >> np.uint32(31), np.uint32(0x80000000), np.uint32(0xFFFFFFFF))
    kth[full] = kb.view(np.float32)
    keep = s32.astype(np.float64) >= kth[rows] - 1.5 * err[rows]
    return rows[keep], songs[keep], s32[keep]


def _search_block(
    tiles: _Tiles,
    q64: np.ndarray,
    qsong: np.ndarray,
    excl: np.ndarray | None,
    err: np.ndarray,
    base64: np.ndarray,
    bias: np.ndarray,
    k: int,
    e_norm_max: float,
    bias_max: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top k of a block of queries (see :func:`nearest_neighbours`, Notes)."""
    b, dim = q64.shape
    need_a = k + 1 + (0 if excl is None else excl.shape[1])
    qa = np.ones((b, dim + 1), dtype=np.float32)
    qa[:, :dim] = q64
    bound, qc = tiles.bounds(q64)
    kth = _kth_lower_bound(tiles, qa, qc, qsong, excl, k, need_a)
    dense = ~np.isfinite(kth)
    c_rows, c_songs, c_s32, dense = _candidates(tiles, qa, bound, kth, err, dense, max(_MAX_CAND, 4 * need_a))
    keep = ~dense[c_rows] & ~_banned(c_rows, c_songs, qsong, excl)
    c_rows, c_songs, c_s32 = c_rows[keep], c_songs[keep], c_s32[keep]
    # the candidates hold every song whose float32 score reaches the query's k-th best one,
    # K32; the exact k-th score is at least K32 - err / 2, so a song of the true top k scores
    # at least K32 - err in float32: keep those (with err / 2 to spare for float64 near-ties)
    c_rows, c_songs, c_s32 = _within_float32_kth(c_rows, c_songs, c_s32, err, b, k)
    return _rescore(c_rows, c_songs, q64, qsong, excl, base64, bias, k, dense, e_norm_max, bias_max)


def _banned(rows: np.ndarray, songs: np.ndarray, qsong: np.ndarray, excl: np.ndarray | None) -> np.ndarray:
    """Whether each (row, song) pair is the row's query or one of its exclusions."""
    bad = songs == qsong[rows]
    if excl is not None:
        bad |= (excl[rows] == songs[:, None]).any(axis=1)
    return bad


def _tile_work(tiles: _Tiles, pairs_by_tile):
    """(tile start, tile end, rows) work items, rows in chunks of at most _TILE_FLOATS scores."""
    for t, rows in pairs_by_tile:
        s, e = int(tiles.starts[t]), int(tiles.starts[t + 1])
        step = max(1, _TILE_FLOATS // (e - s))
        for c in range(0, len(rows), step):
            yield s, e, rows[c : c + step]


def _by_tile(rows: np.ndarray, tile_ids: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(tile, its rows) for (row, tile) pairs, in tile order (rows in their order within a tile)."""
    o = np.argsort(tile_ids, kind="stable")
    rows, tile_ids = rows[o], tile_ids[o]
    heads = np.flatnonzero(np.r_[True, tile_ids[1:] != tile_ids[:-1]]) if len(o) else np.array([], dtype=np.int64)
    return [(int(tile_ids[h]), rows[h:nx]) for h, nx in zip(heads, np.r_[heads[1:], len(o)])]


def _kth_lower_bound(
    tiles: _Tiles, qa: np.ndarray, qc: np.ndarray, qsong: np.ndarray, excl: np.ndarray | None, k: int, need_a: int
) -> np.ndarray:
    """Phase A: each query's k-th best float32 score among its most promising tiles (-inf
    where they hold fewer than ``k`` songs besides the banned ones).

    The tiles are the ``_PHASE_A`` of highest promise (``q . c`` plus the tile's mean bias),
    or more, in order of promise, until they hold ``need_a`` songs. The k-th best score
    there, less half the float32 error bound, bounds the query's exact k-th score from below.
    """
    b = len(qa)
    n_tiles = len(tiles.size)
    promise = qc + tiles.bias_mean
    p = min(_PHASE_A, n_tiles)
    if p < n_tiles:
        top_p = np.argpartition(-promise, p - 1, axis=1)[:, :p]
    else:
        top_p = np.broadcast_to(np.arange(n_tiles), (b, n_tiles))
    short = np.flatnonzero(tiles.size[top_p].sum(axis=1) < need_a)
    full = np.setdiff1d(np.arange(b), short)
    a_rows, a_tiles = np.repeat(full, p), top_p[full].ravel()
    if len(short):  # more tiles, in order of promise, until they hold need_a songs
        order = np.argsort(-promise[short], axis=1, kind="stable")
        before = np.cumsum(tiles.size[order], axis=1) - tiles.size[order]
        r, j = np.nonzero((before < need_a) | (np.arange(n_tiles) < p))
        a_rows, a_tiles = np.concatenate([a_rows, short[r]]), np.concatenate([a_tiles, order[r, j]])

    def best_k(item):
        s, e, r = item
        sc = qa[r] @ tiles.base32[s:e].T
        # the query and its exclusions cannot count towards its k-th score
        ban_r, ban_song = np.arange(len(r)), qsong[r]
        if excl is not None:
            er, ec = np.nonzero(excl[r] >= 0)
            ban_r, ban_song = np.concatenate([ban_r, er]), np.concatenate([ban_song, excl[r][er, ec]])
        pos = tiles.rank[ban_song] - s
        inside = (pos >= 0) & (pos < e - s)
        sc[ban_r[inside], pos[inside]] = -np.inf
        kk = min(k, e - s)
        top = np.partition(sc, e - s - kk, axis=1)[:, e - s - kk :] if kk < e - s else sc
        return np.repeat(r, kk), top.ravel()

    f_rows, f_vals = zip(*_map(best_k, _tile_work(tiles, _by_tile(a_rows, a_tiles))))
    f_rows, f_vals = np.concatenate(f_rows), np.concatenate(f_vals)
    keep = f_vals > -np.inf
    f_rows, f_vals = f_rows[keep], f_vals[keep]
    o = np.lexsort((-f_vals, f_rows))
    f_rows, f_vals = f_rows[o], f_vals[o]
    cnt = np.bincount(f_rows, minlength=b)
    first = np.cumsum(cnt) - cnt
    kth = np.full(b, -np.inf)
    has = cnt >= k
    kth[has] = f_vals[first[has] + k - 1]
    return kth


def _candidates(
    tiles: _Tiles, qa: np.ndarray, bound: np.ndarray, kth: np.ndarray, err: np.ndarray, dense: np.ndarray, cap: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Phase B: every (row, song, float32 score) that may belong to a row's exact top k.

    Every song of the true top k scores at least the k-th exact score >= ``kth - err / 2``:
    tiles whose bound is below that hold none of them; inside the others, its float32 score
    is at least ``kth - err``. Rows marked ``dense`` are skipped; a row whose candidates pass
    ``cap`` is marked dense (re-scored against every song) and its candidates dropped, so
    that memory stays bounded even if all scores tie. Returns the candidates and ``dense``.
    """
    b = len(qa)
    tau = kth - err
    theta = (kth - 2 * err).astype(np.float32)
    need_t = np.ascontiguousarray((bound >= tau[:, None]) & ~dense[:, None]).T
    groups = [(t, np.flatnonzero(need_t[t])) for t in range(len(tiles.size))]
    groups = [(t, r) for t, r in groups if len(r)]

    def above_theta(item):
        s, e, r = item
        sc = qa[r] @ tiles.base32[s:e].T
        th = theta[r]
        some = np.flatnonzero(sc.max(axis=1) >= th)  # most rows have no candidate in a tile
        sub = sc[some]
        rr, cc = np.nonzero(sub >= th[some, None])
        return r[some[rr]], tiles.perm[s + cc], sub[rr, cc]

    # a few tiles at a time, so that a row past the cap is dropped early
    n_cand = np.zeros(b, dtype=np.int64)
    c_rows, c_songs = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    c_s32 = np.zeros(0, dtype=np.float32)
    work = list(_tile_work(tiles, groups))
    for w0 in range(0, len(work), 16):
        chunk = [(s, e, r[~dense[r]]) for s, e, r in work[w0 : w0 + 16]]
        found = list(_map(above_theta, [x for x in chunk if len(x[2])]))
        rows = np.concatenate([x[0] for x in found] + [np.zeros(0, dtype=np.int64)])
        songs = np.concatenate([x[1] for x in found] + [np.zeros(0, dtype=np.int64)])
        s32 = np.concatenate([x[2] for x in found] + [np.zeros(0, dtype=np.float32)])
        n_cand += np.bincount(rows, minlength=b)
        over = n_cand > cap
        c_rows, c_songs = np.concatenate([c_rows, rows]), np.concatenate([c_songs, songs])
        c_s32 = np.concatenate([c_s32, s32])
        if over.any() and not dense[over].all():
            dense |= over
            keep = ~dense[c_rows]
            c_rows, c_songs, c_s32 = c_rows[keep], c_songs[keep], c_s32[keep]
    return c_rows, c_songs, c_s32, dense


def _rescore(
    c_rows: np.ndarray,
    c_songs: np.ndarray,
    q64: np.ndarray,
    qsong: np.ndarray,
    excl: np.ndarray | None,
    base64,
    bias: np.ndarray,
    k: int,
    dense: np.ndarray,
    e_norm_max: float,
    bias_max: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The exact top k of each row: its candidates re-scored in float64 and sorted (ties: lower
    index); rows marked ``dense``, or left with fewer than ``k`` candidates, against every song."""
    b, dim = q64.shape
    exact = np.empty(len(c_rows))
    step = max(1, _CHUNK_FLOATS // (2 * max(1, dim)))
    for s in range(0, len(c_rows), step):
        r, sg = c_rows[s : s + step], c_songs[s : s + step]
        exact[s : s + step] = np.einsum("ij,ij->i", q64[r], base64[sg]) + bias[sg]
    o = np.lexsort((c_songs, -exact, c_rows))
    c_songs, exact = c_songs[o], exact[o]
    cnt = np.bincount(c_rows, minlength=b)
    first = np.cumsum(cnt) - cnt
    dense |= cnt < k
    top = np.zeros((b, k), dtype=np.int64)
    top_s = np.zeros((b, k))
    ok = np.flatnonzero(~dense)
    pos = first[ok, None] + np.arange(k)
    top[ok] = c_songs[pos]
    top_s[ok] = exact[pos]
    # float64 near-ties (within its rounding error) are decided as a matrix-vector product
    # decides them, so that the ranking is the one of ``base @ q + bias``, whatever the row
    after = np.full(b, -np.inf)
    more = ok[cnt[ok] > k]
    after[more] = exact[first[more] + k]
    gaps = -np.diff(np.concatenate([top_s, after[:, None]], axis=1), axis=1)
    tol = 1e-12 * (np.linalg.norm(q64, axis=1) * e_norm_max + bias_max)
    for i in ok[(gaps[ok] <= tol[ok, None]).any(axis=1)]:
        pool = c_songs[first[i] : first[i] + cnt[i]]
        full = base64[pool] @ q64[i] + bias[pool]
        o = np.lexsort((pool, -full))[:k]
        top[i], top_s[i] = pool[o], full[o]
    for i in np.flatnonzero(dense):
        ban = [qsong[i]] if excl is None else np.append(excl[i][excl[i] >= 0], qsong[i])
        top[i], top_s[i] = _exact_all(q64[i], base64, bias, ban, k)
    return top, top_s


def _one_thread():
    """Context in which BLAS runs on the calling thread only (threadpoolctl, installed with
    scikit-learn; without it, nothing changes): the tile products are small, and BLAS threads
    cost more to start and to synchronise than they save, the more so on a busy machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


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
        Queries searched together (memory grows with it: tile bounds per query and
        tile, and up to ``_MAX_CAND`` candidates per query; :func:`search_memory_bytes`);
        default 8,192 up to 256 dimensions, proportionally fewer beyond (more
        dimensions, a wider float32 error bound, more candidates per query).
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
    Scores are ``s(q, e) = q . e + bias(e)`` on the vectors of :func:`_prepare`, higher
    is nearer. The songs are cut into tiles of about ``_TILE`` songs (k-means, seeded),
    each with its centre ``c``, radius ``r`` and its largest ``bias`` and ``bias + |e|^2/2``,
    which bound the best score any song of the tile can reach (:meth:`_Tiles.bounds`).
    For each block of queries:

    1. each query's most promising tile (or tiles, to hold ``k`` songs besides the
       excluded ones) is scored in float32; its k-th best float32 score ``t`` gives
       ``t - err / 2``, a lower bound of the query's true k-th exact score;
    2. every tile whose bound reaches ``t - err`` is scored in float32 (tile by tile,
       with the queries that need it), and every song whose float32 score is at least
       ``t - 2 err`` becomes a candidate: a song of the true top k scores at least
       ``t - err / 2`` exactly, so at least ``t - err`` in float32;
    3. the candidates are re-scored in float64 and sorted (ties: lower index).

    The result is therefore exactly the float64 ranking. A query with too many
    candidates (or fewer than ``k`` songs in its first tiles) is re-scored in float64
    against the whole vocabulary, and so is every query when there are at most
    ``_FEW_QUERIES`` of them (a radio step): building the tiles would cost more.
    ``err``: with ``u = 2**-24``, a float32 dot product
    of length K of float64 vectors rounded to float32 is within
    ``(K + 2) u (1 + 1e-6) sum_i |q_i e_i|`` of the exact one, whatever the summation
    order (Higham, Thm 3.1 plus the rounding of the inputs). The scores are
    ``[q, 1] . [e, bias(e)]`` (K = dim + 1), so ``sum_i |q_i e_i| <= |q| max|e| + max|bias|``;
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
    with _one_thread():
        return _nearest(emb, queries, k, metric, exclude, query_vectors, block, progress, prior, normalize_queries)


#: the tile partition of the last embedding searched: one tuple (weak reference to it, (metric,
#: shape), partition), read and replaced whole so that concurrent searches never mix two
_LAST_PARTITION: list = [None]


def _partition_of(emb, metric: str, base64) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_partition` of ``base64``, reused when the same embedding object is
    searched again with the same metric (the ``auto`` popularity-prior scan searches one
    embedding with 10 priors, and the k-means cut does not depend on the prior).

    Only a weak reference is kept, so the embedding is not held alive. Any partition keeps
    the search exact (:class:`_Tiles`): were the array changed in place in between, the
    old partition would only make the search slower, never its result different.
    """
    key = (metric, tuple(emb.shape))
    last = _LAST_PARTITION[0]
    if last is not None and last[0]() is emb and last[1] == key:
        return last[2]
    part = _partition(base64, _TILE)
    try:
        _LAST_PARTITION[0] = (weakref.ref(emb), key, part)
    except TypeError:  # an object without weak references: nothing kept
        pass
    return part


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
    if n <= _FEW_QUERIES:
        # a radio step or a few playlists: one float64 product over all songs per query
        # costs less than cutting the vocabulary into tiles (same ranking, ties: lower index)
        out_idx = np.empty((n, k), dtype=np.int64)
        out_score = np.empty((n, k), dtype=np.float64)
        for i in range(n):
            ban = [queries[i]] if exclude is None else np.append(exclude[i][exclude[i] >= 0], queries[i])
            out_idx[i], out_score[i] = _exact_all(q64[i], base64, bias, ban, k)
        return _final_scores(out_idx, out_score, q64, metric, prior)
    e_sq = base64.sq_norms()
    e_norm_max = float(np.sqrt(e_sq.max()))
    bias_max = float(np.abs(bias).max())
    q_norm_all = np.linalg.norm(q64, axis=1)
    tiles = _Tiles(base64, bias, e_sq, _TILE, partition=_partition_of(emb, metric, base64))
    out_idx = np.empty((n, k), dtype=np.int64)
    out_score = np.empty((n, k), dtype=np.float64)
    if block is None:
        # the float32 error bound, hence the candidates per query, grows with the dimension
        block = max(256, min(_BLOCK, _BLOCK * _BLOCK_DIM // max(dim, 1)))
    # queries in order of their best tile, so that a block's queries share tiles
    q_order = np.arange(n)
    if n > block and len(tiles.size) > 1:
        home = np.concatenate(
            [np.argmax(q64[s : s + 4096] @ tiles.centre.T + tiles.bias_mean, axis=1) for s in range(0, n, 4096)]
        )
        q_order = np.argsort(home, kind="stable")
    meter = BlockProgress(progress, n, block, label="nearest neighbours:")
    for start in range(0, n, block):
        sel = q_order[start : start + block]
        err = 2.0 * (dim + 3) * (_EPS32 / 2) * (1 + 1e-6) * (q_norm_all[sel] * e_norm_max + bias_max)
        excl = None if exclude is None else exclude[sel]
        out_idx[sel], out_score[sel] = _search_block(
            tiles, q64[sel], queries[sel], excl, err, base64, bias, k, e_norm_max, bias_max
        )
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


def search_memory_bytes(
    n_songs: int, dim: int, n_queries: int | None = None, k: int = 10, n_excluded: int = 0, all_ties: bool = True
) -> int:
    """An upper bound of the memory (bytes) :func:`nearest_neighbours` allocates for a search,
    beyond its arguments.

    Computed from this module's constants (tile size, block, candidate cap, slice sizes,
    threads), so it follows them; ``tests/test_resources.py`` checks it against the memory a
    search takes.

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
    all_ties : bool
        True: a bound even when every score ties (each query holding candidates up to the cap
        and 16 whole tiles more); False: a bound for searches in which no query holds more
        than ``_MAX_CAND`` candidates, as on trained embeddings.

    Returns
    -------
    int
        The arrays kept through the search (per-song scales, bias, norms, the tile order and
        the float32 tile copy, the per-query vectors and results) plus the largest transient
        phase: cutting the songs into tiles (a float32 copy and, for a cell, float64 copies
        that may hold every song), building the tiles, or searching one block of queries
        (bounds per query and tile, per-thread tile products, the candidates, the float64
        re-scoring in slices).

    Notes
    -----
    The candidates dominate. A query keeps at most ``_MAX_CAND`` of them, but the cap is
    checked after every 16 tile products (:func:`_candidates`), so on tied vectors a query
    may hold 16 whole tiles more before it is dropped; each candidate (row, song, float32
    score) is held about three times while a chunk is merged. Untied vectors have a few
    candidates per query, and a search then takes a small part of the bound.
    """
    tiles_per_check = 16  # tile products between two checks of the cap (_candidates)
    V, d, m = max(2, int(n_songs)), max(1, int(dim)), max(0, int(n_excluded))
    # about V / _TILE tiles; at most twice as many plus two per first-level cell, and none
    # above two tiles (larger k-means cells are cut into slabs of at most one)
    n_tiles = min(V, 2 * (V // _TILE) + 2 * int((V // _TILE) ** 0.5) + 3)
    max_tile = min(V, 2 * _TILE)
    rows_slice = 8 * min(V * d, _CHUNK_FLOATS)  # float64 base vectors made in slices
    block = max(256, min(_BLOCK, _BLOCK * _BLOCK_DIM // d))
    n = block if n_queries is None else max(0, int(n_queries))
    # row scales (and norms while they are made), bias, bias + prior, |e|^2, their temporaries
    per_song = 6 * 8 * V
    # float64 query vectors (and a normalised copy of given ones), norms, order, results
    per_query = n * (16 * d + 32 + 16 * k)
    if n <= _FEW_QUERIES:  # each query against every song in float64, one at a time
        return per_song + per_query + 2 * rows_slice + 6 * 8 * V
    # perm, rank, the float32 copy [e, bias(e)] in tile order, each tile's geometry
    tiles = 2 * 8 * V + 4 * V * (d + 1) + 8 * n_tiles * (d + 12)
    # a float32 copy of the songs, then a cell's float32 copy (k-means) or float64 copies
    # (principal direction), labels and orders, k-means products of 2**22 float32 (twice)
    partition = 4 * V * d + max(4 * V * d + 2 * 4 * 2**22, 16 * V * d) + 5 * 8 * V + rows_slice
    building = 6 * 8 * V + 2 * 8 * max_tile * d
    home = 2 * 8 * 4096 * n_tiles + 4 * 8 * n
    b = min(n, block)
    need = k + 1 + m
    cap = max(_MAX_CAND, 4 * need)
    # per query and tile: bound and q . c, with the promise, its order and (queries whose best
    # tiles hold too few songs) the tiles added in order of promise
    per_pair = 96 * b * n_tiles
    # phase A: the k best float32 scores of each query in its first tiles, gathered and sorted
    phase_a = b * (_PHASE_A + need) * (60 * k + 64)
    # a thread's tile product and its copies, in the worst case every score a candidate
    per_thread = 44 * min(b * max_tile, max(_TILE_FLOATS, max_tile))
    candidates = 64 * b * min(V, cap + tiles_per_check * max_tile if all_ties else cap)
    rescore = (80 + 9 * m) * b * min(V, cap) + 2 * rows_slice + 6 * 8 * V
    search = 4 * b * (d + 1) + 8 * b * m + per_pair + _THREADS * per_thread + max(phase_a, candidates, rescore)
    return per_song + per_query + tiles + max(partition, building, home, search)
