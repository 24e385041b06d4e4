"""Baselines a user could use without word2vec, ranked like the embeddings.

* **popularity**: the most frequent songs of the training part (the query excluded);
* **cooccurrence**: the songs that follow or precede the query within ``window``
  positions in the training playlists, weighted by 1/distance and summed; ties,
  and the places left when fewer songs co-occur, go to the more popular songs.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .names import BASELINES, COOCCURRENCE, POPULARITY

__all__ = ["Baseline", "popularity_counts", "cooccurrence_matrix", "popularity_suggest", "cooccurrence_suggest"]


def popularity_counts(offsets: np.ndarray, values: np.ndarray, n_songs: int) -> np.ndarray:
    """Occurrences of each song in the training sequences."""
    return np.bincount(np.asarray(values, dtype=np.int64), minlength=n_songs).astype(np.int64)


def _playlist_of(offsets: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))


def cooccurrence_matrix(offsets: np.ndarray, values: np.ndarray, n_songs: int, window: int = 3) -> sp.csr_matrix:
    """Sparse V x V matrix: entry (a, b) = sum of 1/d over the times b is d <= window
    positions after or before a in the same training sequence.

    Parameters
    ----------
    offsets, values : numpy.ndarray
        Training sequences (CSR).
    n_songs : int
        Vocabulary size.
    window : int
        Largest distance counted.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    values = np.asarray(values, dtype=np.int64)
    pl = _playlist_of(np.asarray(offsets))
    rows, cols, data = [], [], []
    for d in range(1, window + 1):
        same = pl[d:] == pl[:-d] if len(pl) > d else np.zeros(0, dtype=bool)
        a, b = values[:-d][same], values[d:][same]
        rows += [a, b]
        cols += [b, a]
        data += [np.full(len(a), 1.0 / d)] * 2
    if not rows:
        return sp.csr_matrix((n_songs, n_songs))
    m = sp.coo_matrix(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=(n_songs, n_songs)
    ).tocsr()
    m.sum_duplicates()
    return m


def _rank_rows(
    cands: list[np.ndarray],
    weights: list[np.ndarray],
    counts: np.ndarray,
    queries: np.ndarray,
    k: int,
    exclude: np.ndarray | None,
) -> np.ndarray:
    """Rank candidates by (-weight, -count, index); fill up with popularity."""
    pop_order = np.lexsort((np.arange(len(counts)), -counts))
    out = np.empty((len(queries), k), dtype=np.int64)
    for i, (c, w) in enumerate(zip(cands, weights)):
        banned = {int(queries[i])}
        if exclude is not None:
            banned.update(int(x) for x in exclude[i] if x >= 0)
        keep = ~np.isin(c, list(banned))
        c, w = c[keep], w[keep]
        order = np.lexsort((c, -counts[c], -w))[:k]
        chosen = list(c[order])
        if len(chosen) < k:
            taken = banned | set(chosen)
            for j in pop_order:
                if len(chosen) == k:
                    break
                if int(j) not in taken:
                    chosen.append(int(j))
        out[i] = chosen
    return out


def popularity_suggest(
    counts: np.ndarray, queries: np.ndarray, k: int = 10, exclude: np.ndarray | None = None
) -> np.ndarray:
    """The ``k`` most popular songs for each query (the query and ``exclude`` left out)."""
    queries = np.asarray(queries, dtype=np.int64)
    empty = [np.zeros(0, dtype=np.int64)] * len(queries)
    return _rank_rows(empty, [np.zeros(0)] * len(queries), np.asarray(counts), queries, k, exclude)


def cooccurrence_suggest(
    matrix: sp.csr_matrix, counts: np.ndarray, queries: np.ndarray, k: int = 10, exclude: np.ndarray | None = None
) -> np.ndarray:
    """The ``k`` songs co-occurring most with each query (see the module docstring)."""
    queries = np.asarray(queries, dtype=np.int64)
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    cands = [indices[indptr[q] : indptr[q + 1]].astype(np.int64) for q in queries]
    weights = [data[indptr[q] : indptr[q + 1]] for q in queries]
    return _rank_rows(cands, weights, np.asarray(counts), queries, k, exclude)


class Baseline:
    """A baseline ranked through the same code path as the embeddings
    (:func:`track2vec.models.complete_playlists`).

    Parameters
    ----------
    method : {"popularity", "cooccurrence"}
    counts : numpy.ndarray of int64, shape (V,)
        Song occurrences in the training part.
    matrix : scipy.sparse.csr_matrix, optional
        The co-occurrence matrix (``cooccurrence`` only).
    window : int
        The window the matrix was counted with.
    """

    METHODS = BASELINES
    #: a baseline ranks by its own counts: no popularity prior applies
    takes_prior = False

    def __init__(self, method: str, counts: np.ndarray, matrix: sp.csr_matrix | None = None, window: int = 0):
        if method not in self.METHODS:
            raise ValueError(f"method must be one of {self.METHODS}, got {method!r}")
        if method == COOCCURRENCE and matrix is None:
            raise ValueError("the cooccurrence baseline needs its matrix")
        self.method = method
        self.counts = np.asarray(counts, dtype=np.int64)
        self.matrix = matrix
        self.window = int(window)

    @property
    def n_songs(self) -> int:
        """Number of songs it ranks (the vocabulary size)."""
        return len(self.counts)

    def score_label(self, metric: str) -> str:
        """What its scores are: ``plays`` (popularity) or ``cooccurrence`` (summed 1/distance)."""
        return "plays" if self.method == POPULARITY else COOCCURRENCE

    @classmethod
    def fit(cls, method: str, offsets: np.ndarray, values: np.ndarray, n_songs: int, window: int = 3) -> Baseline:
        """Count the training sequences."""
        counts = popularity_counts(offsets, values, n_songs)
        matrix = cooccurrence_matrix(offsets, values, n_songs, window) if method == COOCCURRENCE else None
        return cls(method, counts, matrix, window if method == COOCCURRENCE else 0)

    def complete(
        self,
        playlists: np.ndarray,
        k: int,
        last: int | None = 1,
        metric: str = "cosine",
        prior=None,
        progress=None,
        decay: float = 1.0,
        exclude_context: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Suggestions for playlists padded with -1 (as :func:`track2vec.models.complete_playlists`):
        from the last song; with ``last`` > 1 or None, from the co-occurrences of the context
        songs, song j of n weighted ``decay ** (n - 1 - j)`` and summed (the session item-kNN of
        the session-recommendation literature). ``metric``, ``prior`` and ``progress`` do not
        apply (the counts rank); popularity ranks the same whatever the context."""
        P = np.atleast_2d(np.asarray(playlists, dtype=np.int64))
        lengths = (P >= 0).sum(axis=1)
        rows = np.arange(len(P))
        queries = P[rows, lengths - 1]
        exclude = P if exclude_context and P.shape[1] > 1 else None
        if self.method == POPULARITY:
            idx = popularity_suggest(self.counts, queries, k, exclude)
            return idx, self.counts[idx].astype(np.float64)
        if last is None or last > 1:
            cands, weights = self._context_rows(P, lengths, last, decay)
            idx = _rank_rows(cands, weights, self.counts, queries, k, exclude)
            scores = np.zeros(idx.shape)
            for i, (c, w) in enumerate(zip(cands, weights)):
                found = dict(zip(c.tolist(), w.tolist()))
                scores[i] = [found.get(int(j), 0.0) for j in idx[i]]
            return idx, scores
        idx = cooccurrence_suggest(self.matrix, self.counts, queries, k, exclude)
        scores = (
            np.asarray(self.matrix[queries[:, None], idx].todense(), dtype=np.float64) if len(idx) else np.zeros((0, k))
        )
        return idx, scores

    def _context_rows(self, P: np.ndarray, lengths: np.ndarray, last: int | None, decay: float):
        """For each playlist, the songs that co-occur with its context and their weighted sums."""
        cands, weights = [], []
        for row, n in zip(P, lengths):
            ctx = row[max(0, n - last) : n] if last is not None else row[:n]
            w = float(decay) ** np.arange(len(ctx) - 1, -1, -1, dtype=np.float64)
            agg = sp.csr_matrix(w[None, :]) @ self.matrix[ctx]
            agg.sum_duplicates()
            cands.append(agg.indices.astype(np.int64))
            weights.append(agg.data.astype(np.float64))
        return cands, weights

    def save(self, path) -> None:
        """Write the baseline to ``path`` (.npz) atomically."""
        from .atomic import atomic_path

        arrays = {"method": np.array(self.method), "counts": self.counts, "window": np.array(self.window)}
        if self.matrix is not None:
            m = self.matrix.tocsr()
            arrays.update(indptr=m.indptr, indices=m.indices, data=m.data)
        with atomic_path(path, suffix=".npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)

    @classmethod
    def load(cls, path) -> Baseline:
        """Read a baseline written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            method = str(z["method"])
            counts = z["counts"]
            matrix = None
            if "indptr" in z:
                V = len(counts)
                matrix = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=(V, V))
            return cls(method, counts, matrix, int(z["window"]))
