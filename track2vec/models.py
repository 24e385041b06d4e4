"""Trained models: what an entry learnt, and how it ranks songs to continue a playlist.

Usage::

    from track2vec.models import complete_playlists, load_model

    model = load_model("results/embeddings/tuned.npy", n_vocab)   # or a baseline's .npz
    idx, scores = complete_playlists(model, [[12, 7, 3]], k=10, prior=prior)

A :class:`Model` is an :class:`Embedding` (a matrix, row i the vector of song i, ranked
by exact nearest neighbours) or a :class:`~track2vec.baselines.Baseline` (counts).
:func:`complete_playlists` is the one code path behind the ``evaluate`` and ``test``
steps, the radio and ``track2vec suggest``, so the suggestions a user gets are the ones
that were scored. The popularity prior adds ``weight * log(1 + count)`` to an
embedding's similarities; :func:`prior_weight` and :func:`song_prior` give an entry's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .embeddings import check_embeddings
from .errors import ConfigError, DataError
from .knn import nearest_neighbours

__all__ = [
    "AUTO_PRIORS",
    "Embedding",
    "Model",
    "as_model",
    "complete_playlists",
    "entry_prior_weight",
    "load_model",
    "popularity_prior",
    "prior_weight",
    "song_prior",
    "train_counts",
]

#: the popularity-prior weights that ``popularity_prior: auto`` tries on the validation pairs
AUTO_PRIORS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2)


@runtime_checkable
class Model(Protocol):
    """What ranks songs to continue playlists: an :class:`Embedding` or a
    :class:`~track2vec.baselines.Baseline`."""

    #: whether a popularity prior applies to its ranking (a baseline ranks by its own counts)
    takes_prior: bool

    @property
    def n_songs(self) -> int:
        """Number of songs it ranks (the vocabulary size)."""

    def complete(
        self,
        playlists: np.ndarray,
        k: int,
        last: int | None = 1,
        metric: str = "cosine",
        prior: np.ndarray | None = None,
        progress: Callable[[str], None] | None = None,
        decay: float = 1.0,
        exclude_context: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Suggestions for checked playlists (see :func:`complete_playlists`)."""

    def score_label(self, metric: str) -> str:
        """What its scores are, as a column title (``similarity``, ``distance``, ``plays``...)."""


class Embedding:
    """An embedding matrix as a :class:`Model`: suggestions are exact nearest neighbours.

    Parameters
    ----------
    matrix : numpy.ndarray, shape (V, dim)
        Row i is the vector of song i.
    """

    takes_prior = True

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix

    @property
    def n_songs(self) -> int:
        return self.matrix.shape[0]

    def score_label(self, metric: str) -> str:
        return "similarity" if metric == "cosine" else "distance"

    def complete(
        self, playlists, k, last=1, metric="cosine", prior=None, progress=None, decay=1.0, exclude_context=True
    ):
        """The nearest neighbours of each playlist's last song or, with ``last`` > 1 or None,
        of its context (:meth:`context_vectors`); never the last song, nor with
        ``exclude_context`` another song of the playlist."""
        P = playlists
        lengths = (P >= 0).sum(axis=1)
        queries = P[np.arange(len(P)), lengths - 1]
        # the query itself is always excluded; the other songs of the playlist too, by default
        exclude = P if exclude_context and P.shape[1] > 1 else None
        query_vectors = None
        if last is None or last > 1:
            query_vectors = self.context_vectors(P, last, decay, metric)
        return nearest_neighbours(
            self.matrix,
            queries,
            k=k,
            metric=metric,
            exclude=exclude,
            query_vectors=query_vectors,
            progress=progress,
            prior=prior,
            normalize_queries=False,
        )

    def context_vectors(self, playlists: np.ndarray, last: int | None, decay: float, metric: str) -> np.ndarray:
        """The query vector of each playlist's context: its last ``last`` songs (None: all).

        Song j of a context of n songs weighs ``decay ** (n - 1 - j)`` (the last song 1).
        Cosine: the weighted sum of the songs' unit vectors, so that a candidate's score
        is the weighted sum of its cosines with them. Euclidean: their weighted mean.

        Parameters
        ----------
        playlists : numpy.ndarray of int, shape (n, m)
            Songs in order, padded on the right with -1.
        """
        P = np.asarray(playlists, dtype=np.int64)
        lengths = (P >= 0).sum(axis=1)
        out = np.empty((len(P), self.matrix.shape[1]))
        for i, (row, n) in enumerate(zip(P, lengths)):
            songs = row[:n] if last is None else row[max(0, n - last) : n]
            w = float(decay) ** np.arange(len(songs) - 1, -1, -1, dtype=np.float64)
            x = np.asarray(self.matrix[songs], dtype=np.float64)
            if metric == "cosine":
                norms = np.linalg.norm(x, axis=1, keepdims=True)
                x = x / np.where(norms == 0, 1.0, norms)
            else:
                w = w / w.sum()
            out[i] = w @ x
        return out


def as_model(model) -> Model:
    """``model`` as a :class:`Model`: an array becomes an :class:`Embedding`.

    Raises
    ------
    TypeError
        Neither an array nor a :class:`Model`.
    """
    if isinstance(model, np.ndarray):
        return Embedding(model)
    if isinstance(model, Model):
        return model
    raise TypeError(f"expected an embedding matrix or a Model (embedding or baseline), got {type(model).__name__}")


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
    (docs/evaluation.md, "Popularity prior").
    """
    counts = np.asarray(counts)
    if weight < 0 or not np.isfinite(weight):
        raise ValueError(f"popularity_prior must be a finite number >= 0, got {weight!r}")
    if (counts < 0).any():
        raise ValueError("counts must be >= 0")
    if weight == 0:
        return None
    return float(weight) * np.log1p(counts.astype(np.float64))


def complete_playlists(
    model,
    playlists,
    k: int = 10,
    metric: str = "cosine",
    last: int | None = 1,
    progress: Callable[[str], None] | None = None,
    prior: np.ndarray | None = None,
    decay: float = 1.0,
    exclude_context: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Suggest ``k`` songs to continue each playlist, from its last song or from its context.

    This is the one code path behind both the ``evaluate`` step (each validation
    query is a one-song playlist) and ``track2vec suggest`` / ``Recommender.suggest``,
    so the suggestions a user gets are exactly the ones that were scored.

    Parameters
    ----------
    model : numpy.ndarray of shape (V, dim), or Model
        Embedding matrix (row i is song i), or a :class:`Model` (an embedding or a
        baseline, which ranks by its own counts after the same checks).
    playlists : array-like of int, shape (n, m)
        Vocabulary indices of the songs of each playlist, in order, padded on the
        right with -1 (every row holds at least one song).
    k : int
        Number of suggestions per playlist.
    metric : {"cosine", "euclidean"}
    last : int or None
        The context: the last song (1, the default and the seed's protocol), the last
        ``last`` songs, or every song of the playlist (None). A song's score from a
        context is the weighted sum of its scores from each context song, song j of n
        weighing ``decay ** (n - 1 - j)`` (:meth:`Embedding.context_vectors`; a
        co-occurrence baseline sums its weighted counts).
    progress : callable, optional
        Progress lines for large query sets (see :func:`track2vec.knn.nearest_neighbours`).
    prior : numpy.ndarray, shape (V,), optional
        Per-song score added before ranking (see :func:`popularity_prior`); not
        used by baselines.
    decay : float
        Weight decay along the context (1: equal weights; ``context_decay``).
    exclude_context : bool
        Never suggest a song of the playlist (True), or only never its last song.

    Returns
    -------
    indices : numpy.ndarray of int64, shape (n, k)
        Suggestions, best first; never the playlist's last song.
    scores : numpy.ndarray of float64, shape (n, k)
        As :func:`track2vec.knn.nearest_neighbours` (a baseline: its counts).
    """
    model = as_model(model)
    P = np.atleast_2d(np.asarray(playlists, dtype=np.int64))
    if last is not None and last < 1:
        raise ValueError(f"last must be at least 1 (or None: the whole playlist), got {last}")
    if not 0 < decay <= 1:
        raise ValueError(f"decay must be in (0, 1], got {decay}")
    present = P >= 0
    lengths = present.sum(axis=1)
    if (lengths == 0).any():
        raise ValueError("every playlist needs at least one song")
    if (present != (np.arange(P.shape[1]) < lengths[:, None])).any():
        raise ValueError("playlists must be padded with -1 on the right only")
    if (P >= model.n_songs).any():
        raise ValueError(f"song index out of range (the vocabulary has {model.n_songs} songs)")
    return model.complete(
        P, k, last=last, metric=metric, prior=prior, progress=progress, decay=decay, exclude_context=exclude_context
    )


def load_model(path, n_vocab: int) -> Model:
    """Load what an entry learnt: an embedding matrix (``.npy``, checked) or a baseline (``.npz``).

    Raises
    ------
    DataError
        Unreadable file, or an embedding with the wrong shape, dtype or NaN values.
    """
    from .baselines import Baseline

    fix = "re-run its job (delete the file, or snakemake --forcerun on it)"
    if str(path).endswith(".npz"):
        try:
            model = Baseline.load(path)
        except Exception as exc:  # noqa: BLE001
            raise DataError(path, f"cannot be read as a baseline ({exc})", fix) from exc
        if model.n_songs != n_vocab:
            raise DataError(path, f"covers {model.n_songs} songs but the vocabulary has {n_vocab}", fix)
        return model
    try:
        emb = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise DataError(path, f"cannot be read as a .npy matrix ({exc})", fix) from exc
    return Embedding(check_embeddings(emb, n_vocab, str(path)))


def prior_weight(best: Mapping) -> float:
    """The ``popularity_prior`` of the entry a ``best.json`` names (0 when absent, as for
    baselines; for ``auto``, grid.tsv and best.json hold the weight chosen on validation)."""
    value = best.get("hyperparameters", {}).get("popularity_prior") or 0.0
    if value == "auto":
        raise ConfigError(
            "best.json holds popularity_prior 'auto' instead of the chosen weight: re-run the aggregate and best rules"
        )
    return float(value)


def entry_prior_weight(results: str | Path, entry: str) -> float:
    """An entry's ``popularity_prior`` in a results folder: from ``best.json`` (the best entry)
    or ``grid.tsv``; 0 if unknown.

    Parameters
    ----------
    results : str or pathlib.Path
        The pipeline's results folder.
    entry : str
        A grid entry, or one of its run ids.
    """
    import pandas as pd

    from .grid import entry_of

    results = Path(results)
    name = entry_of(entry)
    best = results / "best.json"
    if best.exists():
        with open(best, encoding="utf-8") as fh:
            chosen = json.load(fh)
        if chosen.get("entry") == name:
            return prior_weight(chosen)
    grid = results / "grid.tsv"
    if grid.exists():
        table = pd.read_csv(grid, sep="\t")
        if "popularity_prior" in table.columns:
            row = table[table["entry"] == name]
            if len(row) and not pd.isna(row["popularity_prior"].iloc[0]):
                return float(row["popularity_prior"].iloc[0])
    return 0.0


def train_counts(train: str | Path | None, n_vocab: int, what: str = "popularity_prior > 0") -> np.ndarray:
    """Occurrences of each song in the training sequences (the popularity prior's counts).

    Raises
    ------
    ConfigError
        ``train`` is None: the hyperparameter ``what`` needs it.
    """
    from .io import read_sequences

    if train is None:
        raise ConfigError(f"hyperparameter '{what}' needs the training sequences (split/train.parquet) to count songs")
    _, values, _ = read_sequences(train)
    return np.bincount(values, minlength=n_vocab)


def song_prior(train: str | Path | None, n_vocab: int, popularity: float, model=None) -> np.ndarray | None:
    """The per-song popularity prior of an entry: None for a weight of 0, or for a model that
    takes no prior (a baseline, which ranks by its own counts).

    Raises
    ------
    ConfigError
        ``popularity`` > 0 without the training sequences to count.
    """
    if not popularity or (model is not None and not as_model(model).takes_prior):
        return None
    return popularity_prior(train_counts(train, n_vocab), float(popularity))
