"""Embedding matrices: checking one read from a file, and combining an ensemble's members.

Usage::

    from track2vec.embeddings import check_embeddings, combine_embeddings

    emb = check_embeddings(np.load("results/embeddings/tuned.npy"), n_vocab, "tuned.npy")
    ensemble = combine_embeddings([member_1, member_2, member_3])

numpy only, so that a step that writes or combines embeddings does not depend on the
search (:mod:`track2vec.knn`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .errors import DataError

__all__ = ["check_embeddings", "combine_embeddings"]

#: float64 numbers per slice when ensemble members are combined (2**22: 32 MiB)
_SLICE_FLOATS = 2**22


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
        raise DataError(
            path, f"has NaN or infinite values in {int(bad.sum())} rows (first: row {int(np.flatnonzero(bad)[0])})", fix
        )
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
    for m in members:  # in slices of rows: float64 work space of 32 MiB, whatever the size
        step = max(1, _SLICE_FLOATS // max(1, m.shape[1]))
        for s in range(0, len(out), step):
            x = np.asarray(m[s : s + step], dtype=np.float64)
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            out[s : s + step, col : col + m.shape[1]] = x / np.where(norms > 0, norms, 1.0) / root
        col += m.shape[1]
    return out
