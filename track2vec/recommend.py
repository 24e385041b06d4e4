"""Song search, playlist completion and radio from one entry of a pipeline's results.

Usage::

    from track2vec import Recommender

    rec = Recommender.from_results("results")          # the best entry (results/best.json)
    rec.find("holy planet")                             # songs whose title matches
    rec.suggest(["Holy Planet", "track_1477340274"], n=10)
    walk = rec.radio("Holy Planet", nb_steps=20, nb_candidates=5, seed=0)

A :class:`Recommender` holds a :class:`~track2vec.catalog.Catalog` (the songs and their
metadata) and a :class:`~track2vec.models.Model` (what the entry learnt). Suggestions come
from :func:`track2vec.models.complete_playlists`, the code path the ``evaluate`` step
scores, so with the default options their HR@10 on the validation pairs is the grid
table's. Radios come from :func:`track2vec.radio.walk_radio`. No TensorFlow is needed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .catalog import Catalog, SongNotFoundError, read_metadata
from .embeddings import check_embeddings
from .errors import DataError
from .knn import METRICS
from .models import Model, as_model, complete_playlists, entry_prior_weight, load_model, song_prior
from .radio import ANCHOR, MAX_ARTIST_RUN, MAX_PER_ARTIST, NB_CANDIDATES, NB_STEPS, RadioWalk, walk_radio

__all__ = ["Recommender", "RadioWalk", "SongNotFoundError", "read_metadata"]

#: how to make the files a results folder lacks
_RUN_PIPELINE = "run the pipeline first: snakemake --cores 8"


def _best_entry(results: Path) -> str:
    """The entry ``best.json`` names."""
    best = results / "best.json"
    if not best.exists():
        raise DataError(
            best,
            "not found (no best entry chosen yet)",
            "run the pipeline (snakemake --cores 8), point --results at its folder, or name an entry with --entry",
        )
    with open(best, encoding="utf-8") as fh:
        return json.load(fh)["entry"]


def _model_path(results: Path, entry: str) -> Path:
    """An entry's embeddings (``embeddings/{entry}.npy``) or baseline (``baselines/{entry}.npz``)."""
    path = results / "embeddings" / f"{entry}.npy"
    if not path.exists() and (results / "baselines" / f"{entry}.npz").exists():
        path = results / "baselines" / f"{entry}.npz"
    if not path.exists():
        have = sorted(p.stem for p in (results / "embeddings").glob("*.npy"))
        raise DataError(
            path, f"no embeddings for entry {entry!r}", f"choose one of: {', '.join(have)}" if have else _RUN_PIPELINE
        )
    return path


def _entry_metric(results: Path, entry: str) -> str:
    """The metric an entry was evaluated with (``metrics/{entry}.json``; cosine if unknown)."""
    metric = "cosine"
    metrics_path = results / "metrics" / f"{entry}.json"
    if metrics_path.exists():
        with open(metrics_path, encoding="utf-8") as fh:
            metric = json.load(fh).get("metric", metric)
    return metric


def _entry_context(results: Path, entry: str) -> tuple[int | None, float]:
    """The context an entry's suggestions default to: the one that scored best on validation.

    ``metrics/{entry}.json`` holds the last-song scores and, with ``evaluate.context``, the
    context protocol's (``context``); the context protocol wins when its validation metric
    (``best.metric`` of the run, from ``best.json``; HR@k without it) is higher.
    """
    path = results / "metrics" / f"{entry}.json"
    if not path.exists():
        return 1, 1.0
    with open(path, encoding="utf-8") as fh:
        scores = json.load(fh)
    ctx = scores.get("context")
    metric = "hr_at_k"
    best = results / "best.json"
    if best.exists():
        with open(best, encoding="utf-8") as fh:
            metric = json.load(fh).get("metric", metric)
    if not ctx or ctx[metric] <= scores[metric]:
        return 1, 1.0
    return (None if ctx["protocol"] == "all" else int(ctx["protocol"])), float(ctx["context_decay"])


class Recommender:
    """Find songs, complete playlists and walk a radio in one entry's embedding.

    Parameters
    ----------
    vocab : pandas.DataFrame
        The vocabulary table (``results/vocab.parquet``): ``index``, ``track_id``,
        ``count``, ``artist_id``; row i is song i.
    embeddings : numpy.ndarray of shape (V, dim), or Model
        Row i is the vector of song i (``results/embeddings/{entry}.npy``), or a
        :class:`~track2vec.models.Model` such as a baseline.
    metadata : pandas.DataFrame, optional
        Titles, artist names and preview URLs (see :func:`read_metadata`), joined on
        ``track_id``. Songs without metadata still work: they are shown by id.
    metric : {"cosine", "euclidean"}
        Neighbour search; use the one the entry was evaluated with.
    entry : str, optional
        The grid entry's name (shown in outputs).
    prior : numpy.ndarray, shape (V,), optional
        Per-song score added before ranking: the entry's popularity prior
        (:func:`track2vec.models.popularity_prior`), as it was evaluated.
    context : int or None
        The suggestions' default context: the last ``context`` songs (1: the last song, the
        seed's protocol) or the whole playlist (None).
    decay : float
        The default weight decay along the context (``context_decay``).

    Attributes
    ----------
    catalog : Catalog
        The songs and their metadata; ``songs`` is its table.
    model : Model
        What ranks the songs.
    metric, entry, prior, context, decay
        As given.

    Examples
    --------
    >>> rec = Recommender.from_results("results")            # doctest: +SKIP
    >>> rec.suggest(["Holy Planet"], n=5)                      # doctest: +SKIP
    """

    def __init__(
        self,
        vocab: pd.DataFrame,
        embeddings: np.ndarray | Model,
        metadata: pd.DataFrame | None = None,
        metric: str = "cosine",
        entry: str | None = None,
        prior: np.ndarray | None = None,
        context: int | None = 1,
        decay: float = 1.0,
    ):
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        if not isinstance(embeddings, Model):
            embeddings = check_embeddings(np.asarray(embeddings), len(vocab), f"embeddings of entry {entry}")
        self.model = as_model(embeddings)
        self.catalog = Catalog(vocab, metadata)
        self.metric = metric
        self.entry = entry
        self.prior = prior
        self.context = context
        self.decay = float(decay)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_files(
        cls,
        vocab: str | os.PathLike,
        embeddings: str | os.PathLike,
        metadata: str | os.PathLike | None = None,
        metric: str = "cosine",
        entry: str | None = None,
        popularity: float = 0.0,
        train: str | os.PathLike | None = None,
        context: int | None = 1,
        decay: float = 1.0,
    ) -> Recommender:
        """Load from explicit paths (``vocab.parquet``, ``embeddings/{entry}.npy``, a metadata csv).

        ``popularity`` > 0 (the entry's ``popularity_prior``) also needs ``train``
        (``split/train.parquet``), whose song counts make the prior. ``context`` and
        ``decay``: the suggestions' default context (see :class:`Recommender`).
        """
        for p in (vocab, embeddings):
            if not Path(p).exists():
                raise DataError(p, "not found", _RUN_PIPELINE)
        vocab_df = pd.read_parquet(vocab)
        model = load_model(embeddings, len(vocab_df))
        meta = read_metadata(metadata) if metadata else None
        if popularity and train is not None and not Path(train).exists():
            raise DataError(train, "not found (the popularity prior counts songs in it)", _RUN_PIPELINE)
        prior = song_prior(None if train is None else str(train), len(vocab_df), popularity, model)
        return cls(vocab_df, model, meta, metric=metric, entry=entry, prior=prior, context=context, decay=decay)

    @classmethod
    def from_results(
        cls,
        results: str | os.PathLike = "results",
        entry: str | None = None,
        metadata: str | os.PathLike | None = None,
    ) -> Recommender:
        """Load a pipeline's results folder.

        Parameters
        ----------
        results : str or os.PathLike
            The folder named by the config key ``results`` (default ``results``).
        entry : str, optional
            A grid entry; default: the best one (``best.json``).
        metadata : str or os.PathLike, optional
            A TracksArtists.csv-like file; default: the built-in dataset's
            ``data/synthetic_tracks.csv`` when the folder has one, else none.

        Returns
        -------
        Recommender
            With the metric the entry was evaluated with (``metrics/{entry}.json``), its
            popularity prior, and the context that scored best on validation: the
            context protocol's (``evaluate.context``) when it beat the last song, with its
            decay, else the last song.

        Raises
        ------
        DataError
            The folder lacks ``best.json``, the entry's embeddings or the vocabulary.
        """
        results = Path(results)
        if entry is None:
            entry = _best_entry(results)
        model_path = _model_path(results, entry)
        metric = _entry_metric(results, entry)
        context, decay = _entry_context(results, entry)
        if metadata is None and (results / "data" / "synthetic_tracks.csv").exists():
            metadata = results / "data" / "synthetic_tracks.csv"
        return cls.from_files(
            results / "vocab.parquet",
            model_path,
            metadata,
            metric=metric,
            entry=entry,
            popularity=entry_prior_weight(results, entry),
            train=results / "split" / "train.parquet",
            context=context,
            decay=decay,
        )

    # ------------------------------------------------------------------ songs (the catalog's)
    @property
    def songs(self) -> pd.DataFrame:
        """One row per song (see :class:`~track2vec.catalog.Catalog`)."""
        return self.catalog.songs

    @property
    def size(self) -> int:
        """Number of songs in the vocabulary."""
        return self.catalog.size

    def label(self, index: int) -> str:
        """``Title — Artist`` of a song, its track id when it has no title."""
        return self.catalog.label(index)

    def track(self, index: int) -> dict:
        """A song as a plain dict: ``index``, ``track_id``, ``title``, ``artist``, ``preview``, ``count``."""
        return self.catalog.track(index)

    def find(self, title: str, limit: int | None = None) -> pd.DataFrame:
        """Songs whose title matches, exact matches first (see :meth:`Catalog.find`)."""
        return self.catalog.find(title, limit=limit)

    def resolve(self, song: str | int) -> int:
        """The vocabulary index of a track id, ``#<index>`` or title (see :meth:`Catalog.resolve`).

        Raises
        ------
        SongNotFoundError
            Nothing matches.
        """
        return self.catalog.resolve(song)

    # ------------------------------------------------------------------ suggestions
    def _context(self, last, decay) -> tuple[int | None, float]:
        """``last`` and ``decay`` with ``"auto"`` replaced by the entry's validated setting."""
        return (self.context if last == "auto" else last), (self.decay if decay == "auto" else float(decay))

    def suggest_indices(
        self, playlist: Sequence[int], n: int = 10, last: int | str | None = "auto", decay: float | str = "auto"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vocabulary indices and scores (without the prior: see :meth:`suggest`) of ``n`` songs
        to continue a playlist of indices.

        See :func:`track2vec.models.complete_playlists` (the evaluated code path).
        """
        playlist = [int(i) for i in playlist]
        if not playlist:
            raise ValueError("the playlist is empty: give at least one song")
        room = self.size - len(set(playlist))
        if not 1 <= n <= room:
            raise ValueError(f"n must be between 1 and {room} (songs not in the playlist), got {n}")
        last, decay = self._context(last, decay)
        idx, scores = complete_playlists(
            self.model, [playlist], k=n, metric=self.metric, last=last, prior=self.prior, decay=decay
        )
        return idx[0], scores[0]

    def suggest(
        self, playlist: Iterable[str | int], n: int = 10, last: int | str | None = "auto", decay: float | str = "auto"
    ) -> pd.DataFrame:
        """Suggest ``n`` songs to continue a playlist, never one already in it.

        Parameters
        ----------
        playlist : iterable of str or int
            Songs in order: track ids, titles (resolved as :meth:`resolve`), ``#<index>``
            or vocabulary indices (int).
        n : int
            Number of suggestions.
        last : int, None or "auto"
            The context the suggestions come from: the last ``last`` songs (1: the last song,
            the seed's protocol), every song (None), or ``"auto"`` (default): the entry's
            setting that validation found best (:attr:`context`).
        decay : float or "auto"
            Weight decay along the context (:func:`track2vec.models.complete_playlists`);
            ``"auto"``: the entry's validated decay (:attr:`decay`).

        Returns
        -------
        pandas.DataFrame
            ``rank``, ``index``, ``track_id``, ``title``, ``artist``, ``score`` (what the
            suggestions rank by: the similarity plus the popularity prior), the similarity
            itself (a column named by :meth:`Model.score_label`: ``similarity``, ``distance``
            for the euclidean metric, ``plays`` or ``cooccurrence`` for a baseline), ``preview``.
        """
        indices = [self.resolve(s) for s in playlist]
        idx, raw = self.suggest_indices(indices, n=n, last=last, decay=decay)
        out = self.songs.iloc[idx][["index", "track_id", "title", "artist", "preview"]].copy()
        out["title"] = out["title"].where(out["title"] != "", out["track_id"])
        out.insert(0, "rank", np.arange(1, len(idx) + 1))
        out.insert(6, "score", self._ranking_scores(idx, raw))
        out.insert(7, self.model.score_label(self.metric), raw)
        return out.reset_index(drop=True)

    def _ranking_scores(self, idx: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """What the suggestions rank by: a similarity (or ``-distance**2 / 2``) plus the prior."""
        if not self.model.takes_prior:
            return raw
        base = raw if self.metric == "cosine" else -0.5 * raw**2
        return base + (self.prior[idx] if self.prior is not None else 0.0)

    # ------------------------------------------------------------------ radio
    def radio(
        self,
        song: str | int,
        nb_steps: int = NB_STEPS,
        nb_candidates: int = NB_CANDIDATES,
        seed: int = 0,
        anchor: float = ANCHOR,
        max_artist_run: int | None = MAX_ARTIST_RUN,
        max_per_artist: int | str | None = MAX_PER_ARTIST,
        genres: np.ndarray | None = None,
    ) -> RadioWalk:
        """A radio from a seed song: each next song drawn at random among the ``nb_candidates``
        best songs not played yet, ranked from the current song and, with ``anchor``, from
        the seed, keeping artists apart.

        A song without a preview is skipped (recorded with ``played: false`` and a
        message) and the walk goes on from it. The walk stops early only when
        every song has been visited. See :func:`track2vec.radio.walk_radio`.

        Parameters
        ----------
        song : str or int
            The seed song (see :meth:`resolve`).
        nb_steps : int
            Songs drawn after the seed.
        nb_candidates : int
            Size of the list each next song is drawn from.
        seed : int
            Seed of the random draws: the same seed gives the same radio.
        anchor : float
            Weight of the seed in the ranking, in [0, 1] (0: from the current song alone).
        max_artist_run : int or None
            The most songs of one artist in a row (None: no limit).
        max_per_artist : int, "auto" or None
            The most songs of one artist in the radio (``auto``: a seventh of its songs,
            rounded up; None: no limit).
        genres : numpy.ndarray of int, optional
            Every song's genre (:func:`track2vec.catalog.generator_genres`), for the
            ``same_genre_share`` measure.

        Returns
        -------
        RadioWalk
        """
        return walk_radio(
            self.model,
            self.catalog,
            song,
            nb_steps=nb_steps,
            nb_candidates=nb_candidates,
            seed=seed,
            metric=self.metric,
            prior=self.prior,
            entry=self.entry,
            anchor=anchor,
            max_artist_run=max_artist_run,
            max_per_artist=max_per_artist,
            genres=genres,
        )
