"""Exact nearest neighbours and the HR@k / NDCG@k metrics.

Neighbour search is exact. The songs are cut into tiles (a small index built per
call) whose centre, radius, norm range and largest bias bound the best score any of
their songs can reach; each query's k-th score is bounded from below on its most
promising tiles, only the tiles whose bound reaches that are scored (float32 matrix
products, tile by tile), and only the songs whose float32 score is within a rigorous
bound on the float32 rounding error of it are re-scored in float64 and sorted. Ties
are broken by the lower index (the more frequent song). The result is therefore
exactly the float64 ranking, at the speed of a float32 product over a small part of
the vocabulary.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import math
import os
import weakref
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .errors import DataError
from .progress import BlockProgress

__all__ = [
    "combine_embeddings",
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


def combine_embeddings(members: Sequence[np.ndarray]) -> np.ndarray:
    """One embedding from several trained on the same vocabulary (an ensemble).

    Each member is scaled to unit rows, the members are concatenated and the result is
    divided by ``sqrt(len(members))``: every row has unit norm, and the cosine of two songs
    is the mean of their cosines in the members (Euclidean distances rank as cosines).

    Parameters
    ----------
    members : sequence of numpy.ndarray, each of shape (V, dim_i)

    Returns
    -------
    numpy.ndarray of float32, shape (V, sum of dim_i)

    Raises
    ------
    ValueError
        No member, or members with different numbers of rows.

    Examples
    --------
    >>> a = np.array([[1.0, 0.0], [0.0, 2.0]]); b = np.array([[0.0, 3.0], [0.0, 1.0]])
    >>> e = combine_embeddings([a, b])
    >>> round(float(e[0] @ e[1]), 6)  # mean of cos 0 (in a) and cos 1 (in b)
    0.5
    """
    if not len(members):
        raise ValueError("an ensemble needs at least one member")
    rows = {m.shape[0] for m in members}
    if len(rows) != 1:
        raise ValueError(f"ensemble members have different numbers of rows: {sorted(rows)}")
    root = math.sqrt(len(members))
    out = np.empty((rows.pop(), sum(m.shape[1] for m in members)), dtype=np.float32)
    col = 0
    for m in members:   # in slices of rows: float64 work space of 32 MiB, whatever the size
        step = max(1, _CHUNK_FLOATS // max(1, m.shape[1]))
        for s in range(0, len(out), step):
            x = np.asarray(m[s : s + step], dtype=np.float64)
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            out[s : s + step, col : col + m.shape[1]] = x / np.where(norms > 0, norms, 1.0) / root
        col += m.shape[1]
    return out


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

    Notes
    -----
    Any partition keeps the search exact; a good one makes it faster. The songs get two
    levels of k-means on their base vectors (unit vectors for cosine, centred raw vectors
    for Euclidean), and a cell left much larger than ``tile`` is cut into slabs along its
    principal direction. (Norm shells for Euclidean, tried first, gave tiles of close
    norms but mixed directions: 1.1-5.5x slower on trained embeddings.)

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

    def __init__(self, base64: np.ndarray, bias: np.ndarray, e_sq: np.ndarray, tile: int, seed: int = 0,
                 partition: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        V, dim = base64.shape
        perm, cnt = partition if partition is not None else self.partition(base64, tile, seed)
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

    @classmethod
    def partition(cls, base64: np.ndarray, tile: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The songs in tile order and the tile sizes, ``(perm, cnt)``: a deterministic
        function of the base vectors (not of the bias, so one partition serves every prior)."""
        V, dim = base64.shape
        n_tiles = max(1, V // max(1, tile))
        if n_tiles > 1:
            # about sqrt(T) k-means cells, each cut by k-means again into cells of about
            # ``tile`` songs (so that assigning the songs costs V x (sqrt(T) + cells) products
            # instead of V x T); a cell that k-means left much larger than ``tile`` (a diffuse
            # cloud) is cut into slabs along its principal direction
            rng = np.random.default_rng(seed)
            b32 = base64.astype(np.float32)
            n1 = max(1, int(round(np.sqrt(n_tiles))))
            lab1 = cls._kmeans(b32, n1, rng)
            perm = np.argsort(lab1, kind="stable")
            sizes = []
            for j0, j1 in zip(*cls._heads(np.bincount(lab1, minlength=n1))):
                if j1 == j0:
                    continue
                idx = perm[j0:j1]
                lab = cls._kmeans(b32[idx], max(1, int(round((j1 - j0) / tile))), rng)
                idx = idx[np.argsort(lab, kind="stable")]
                perm[j0:j1] = idx
                for c0, c1 in zip(*cls._heads(np.bincount(lab))):
                    n = c1 - c0
                    if n == 0:
                        continue
                    if n > 2 * tile:
                        n_parts = -(-n // tile)
                        cell = idx[c0:c1]
                        perm[j0 + c0 : j0 + c1] = cell[np.argsort(cls._principal(base64[cell]), kind="stable")]
                        sizes.append(np.diff(np.linspace(0, n, n_parts + 1).round().astype(np.int64)))
                    else:
                        sizes.append(np.array([n]))
            del b32  # before the caller's base32: one float32 copy of the vectors at a time
            cnt = np.concatenate(sizes)
        else:
            perm = np.arange(V)
            cnt = np.array([V])
        return perm, cnt

    @staticmethod
    def _heads(cnt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Start and end of each segment of sizes ``cnt``."""
        ends = np.cumsum(cnt)
        return ends - cnt, ends

    @staticmethod
    def _principal(x: np.ndarray) -> np.ndarray:
        """Projection of the rows of ``x`` on (an approximation of) their principal direction:
        a few power iterations from a fixed start."""
        d = x - x.mean(axis=0)
        w = np.ones(x.shape[1], dtype=x.dtype)
        for _ in range(3):
            w = d.T @ (d @ w)
            w /= max(float(np.abs(w).max()), 1e-30)
        return d @ w

    @classmethod
    def _kmeans(cls, x: np.ndarray, n_c: int, rng: np.random.Generator) -> np.ndarray:
        """Cell of each row of ``x`` (float32) among ``n_c`` k-means cells: centres from
        ``_KMEANS_ITERS`` Lloyd iterations on a sample of ``_KMEANS_SAMPLE`` rows per cell,
        then every row assigned to its nearest centre. Any partition keeps the search exact;
        a good one only makes it faster."""
        if n_c <= 1 or len(x) <= n_c:
            return np.zeros(len(x), dtype=np.int64) if n_c <= 1 else np.arange(len(x))
        sample = x[np.sort(rng.choice(len(x), min(len(x), _KMEANS_SAMPLE * n_c), replace=False))]
        cent = sample[np.sort(rng.choice(len(sample), n_c, replace=False))].copy()
        for _ in range(_KMEANS_ITERS):
            lab = cls._nearest(sample, cent)
            cnt = np.bincount(lab, minlength=n_c)
            sums = np.zeros(cent.shape)
            cls._sum_by(sums, lab, sample)
            nz = cnt > 0
            cent[nz] = (sums[nz] / cnt[nz, None]).astype(np.float32)
        return cls._nearest(x, cent)

    @staticmethod
    def _nearest(x: np.ndarray, cent: np.ndarray) -> np.ndarray:
        """Index of the nearest centre of each row of ``x`` (float32, in chunks)."""
        half = 0.5 * np.einsum("ij,ij->i", cent, cent)
        out = np.empty(len(x), dtype=np.int64)
        step = max(1, 2**22 // len(cent))
        for s in range(0, len(x), step):
            out[s : s + step] = np.argmax(x[s : s + step] @ cent.T - half, axis=1)
        return out

    @staticmethod
    def _sum_by(sums: np.ndarray, lab: np.ndarray, x: np.ndarray) -> None:
        """``sums[j] += x[lab == j].sum(0)`` for every j (sorted segments, one reduceat)."""
        o = np.argsort(lab, kind="stable")
        sl = lab[o]
        heads = np.flatnonzero(np.r_[True, sl[1:] != sl[:-1]])
        sums[sl[heads]] += np.add.reduceat(x[o].astype(np.float64), heads, axis=0)

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
        for s in range(0, len(q64), 256):   # in chunks: the temporaries stay in cache
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


def _within_float32_kth(rows: np.ndarray, songs: np.ndarray, s32: np.ndarray, err: np.ndarray, b: int,
                        k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidates (row, song, float32 score) whose score is at least their row's k-th best
    float32 score minus ``1.5 err[row]`` (rows with fewer than k candidates keep them all).

    One sort of a 64-bit key (row, then the score's bits made order-preserving as an
    unsigned integer) finds every row's k-th best score."""
    if len(rows) == 0:
        return rows, songs, s32
    u = np.ascontiguousarray(s32, dtype=np.float32).view(np.uint32)
    flip = np.where(u >> np.uint32(31), np.uint32(0xFFFFFFFF), np.uint32(0x80000000))
    key = (rows.astype(np.uint64) << np.uint64(32)) | (u ^ flip).astype(np.uint64)   # ascending score in a row
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


def _search_block(tiles: _Tiles, q64: np.ndarray, qsong: np.ndarray, excl: np.ndarray | None, err: np.ndarray,
                  base64: np.ndarray, bias: np.ndarray, k: int, e_norm_max: float,
                  bias_max: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact top k of a block of queries (see :func:`nearest_neighbours`, Notes)."""
    b, dim = q64.shape
    n_tiles = len(tiles.size)
    n_ban = 1 + (0 if excl is None else excl.shape[1])
    need_a = k + n_ban
    qa = np.ones((b, dim + 1), dtype=np.float32)
    qa[:, :dim] = q64
    bound, qc = tiles.bounds(q64)

    def banned_pairs(rows: np.ndarray, songs: np.ndarray) -> np.ndarray:
        bad = songs == qsong[rows]
        if excl is not None:
            bad |= (excl[rows] == songs[:, None]).any(axis=1)
        return bad

    def tile_work(pairs_by_tile):
        """(tile start, tile end, rows) work items, rows in chunks of at most _TILE_FLOATS scores."""
        for t, rows in pairs_by_tile:
            s, e = int(tiles.starts[t]), int(tiles.starts[t + 1])
            step = max(1, _TILE_FLOATS // (e - s))
            for c in range(0, len(rows), step):
                yield s, e, rows[c : c + step]

    # phase A: each query's most promising tiles, enough of them to hold k songs besides the
    # banned ones; the k-th best float32 score there bounds the k-th exact score from below
    promise = qc + tiles.bias_mean
    p = min(_PHASE_A, n_tiles)
    top_p = np.argpartition(-promise, p - 1, axis=1)[:, :p] if p < n_tiles else np.broadcast_to(np.arange(n_tiles), (b, n_tiles))
    short = np.flatnonzero(tiles.size[top_p].sum(axis=1) < need_a)
    full = np.setdiff1d(np.arange(b), short)
    a_rows, a_tiles = np.repeat(full, p), top_p[full].ravel()
    if len(short):   # more tiles, in order of promise, until they hold need_a songs
        order = np.argsort(-promise[short], axis=1, kind="stable")
        before = np.cumsum(tiles.size[order], axis=1) - tiles.size[order]
        r, j = np.nonzero((before < need_a) | (np.arange(n_tiles) < p))
        a_rows, a_tiles = np.concatenate([a_rows, short[r]]), np.concatenate([a_tiles, order[r, j]])
    o = np.argsort(a_tiles, kind="stable")
    a_rows, a_tiles = a_rows[o], a_tiles[o]
    heads = np.flatnonzero(np.r_[True, a_tiles[1:] != a_tiles[:-1]]) if len(o) else np.array([], dtype=np.int64)
    groups = [(int(a_tiles[h]), a_rows[h:nx]) for h, nx in zip(heads, np.r_[heads[1:], len(o)])]

    def phase_a(item):
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

    f_rows, f_vals = zip(*_map(phase_a, tile_work(groups)))
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
    dense = ~np.isfinite(kth)
    # every song of the true top k scores at least the k-th exact score >= kth - err / 2:
    # tiles whose bound is below that hold none of them; inside the others, its float32
    # score is at least kth - err
    tau = kth - err
    theta = (kth - 2 * err).astype(np.float32)
    needT = np.ascontiguousarray((bound >= tau[:, None]) & ~dense[:, None]).T
    groups = [(t, np.flatnonzero(needT[t])) for t in range(n_tiles)]
    groups = [(t, r) for t, r in groups if len(r)]

    def phase_b(item):
        s, e, r = item
        sc = qa[r] @ tiles.base32[s:e].T
        th = theta[r]
        some = np.flatnonzero(sc.max(axis=1) >= th)   # most rows have no candidate in a tile
        sub = sc[some]
        rr, cc = np.nonzero(sub >= th[some, None])
        return r[some[rr]], tiles.perm[s + cc], sub[rr, cc]

    # a few tiles at a time: a query whose candidates pass the cap is dropped at once (and
    # re-scored against every song), so that memory stays bounded even if all scores tie
    cap = max(_MAX_CAND, 4 * need_a)
    n_cand = np.zeros(b, dtype=np.int64)
    c_rows, c_songs = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    c_s32 = np.zeros(0, dtype=np.float32)
    work = list(tile_work(groups))
    for w0 in range(0, len(work), 16):
        chunk = [(s, e, r[~dense[r]]) for s, e, r in work[w0 : w0 + 16]]
        found = list(_map(phase_b, [x for x in chunk if len(x[2])]))
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
    keep = ~dense[c_rows] & ~banned_pairs(c_rows, c_songs)
    c_rows, c_songs, c_s32 = c_rows[keep], c_songs[keep], c_s32[keep]
    # the candidates hold every song whose float32 score reaches the query's k-th best one,
    # K32; the exact k-th score is at least K32 - err / 2, so a song of the true top k scores
    # at least K32 - err in float32: keep those (with err / 2 to spare for float64 near-ties)
    c_rows, c_songs, c_s32 = _within_float32_kth(c_rows, c_songs, c_s32, err, b, k)
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
        Queries searched together (memory grows with it: tile bounds of about
        block x V / 20 bytes, and at most 4,096 candidates of 16 bytes per query);
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
        return _nearest(emb, queries, k, metric, exclude, query_vectors, block, progress, prior)


#: the tile partition of the last embedding searched: one tuple (weak reference to it, (metric,
#: shape), partition), read and replaced whole so that concurrent searches never mix two
_LAST_PARTITION: list = [None]


def _partition_of(emb, metric: str, base64) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`_Tiles.partition` of ``base64``, reused when the same embedding object is
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
    part = _Tiles.partition(base64, _TILE)
    try:
        _LAST_PARTITION[0] = (weakref.ref(emb), key, part)
    except TypeError:   # an object without weak references: nothing kept
        pass
    return part


def _nearest(emb, queries, k, metric, exclude, query_vectors, block, progress, prior=None):
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
        if metric == "cosine":
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
        home = np.concatenate([np.argmax(q64[s : s + 4096] @ tiles.centre.T + tiles.bias_mean, axis=1) for s in range(0, n, 4096)])
        q_order = np.argsort(home, kind="stable")
    meter = BlockProgress(progress, n, block, label="nearest neighbours:")
    for start in range(0, n, block):
        sel = q_order[start : start + block]
        err = 2.0 * (dim + 3) * (_EPS32 / 2) * (1 + 1e-6) * (q_norm_all[sel] * e_norm_max + bias_max)
        excl = None if exclude is None else exclude[sel]
        out_idx[sel], out_score[sel] = _search_block(tiles, q64[sel], queries[sel], excl, err, base64, bias, k,
                                                      e_norm_max, bias_max)
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
