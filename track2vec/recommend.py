"""Song search, playlist completion and radio from a trained embedding.

The Python API behind the ``track2vec`` command::

    from track2vec import Recommender

    rec = Recommender.from_results("results")          # the best entry (results/best.json)
    rec.find("holy planet")                             # songs whose title matches
    rec.suggest(["Holy Planet", "track_1477340274"], n=10)
    walk = rec.radio("Holy Planet", nb_steps=20, nb_candidates=5, seed=0)

Suggestions come from :func:`track2vec.evaluate.complete_playlists`, the code path
the ``evaluate`` step scores, so with the default options their HR@10 on the
validation pairs is the grid table's. No TensorFlow is needed.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import DataError, Track2VecError
from .evaluate import METRICS, check_embeddings, complete_playlists
from .text import normalize_title

__all__ = ["Recommender", "RadioWalk", "SongNotFoundError", "read_metadata"]

#: the columns of a TracksArtists.csv-like metadata file (``track_id`` and ``title`` required)
METADATA_COLUMNS = ("track_id", "title", "name", "preview")


class SongNotFoundError(Track2VecError, LookupError):
    """No song of the vocabulary matches a title or id given by the user."""


def read_metadata(path: str | os.PathLike) -> pd.DataFrame:
    """Read a TracksArtists.csv-like file: ``track_id``, ``title``, optionally ``name`` (artist) and ``preview``.

    Empty cells stay empty strings (``keep_default_na=False``): a title such as
    "NA" or "null" is a title. A track listed twice keeps its first row. Bad rows
    (a wrong number of fields, or no ``track_id``) are skipped and reported in one
    ``UserWarning`` (with their line numbers), not fatal.

    Parameters
    ----------
    path : str or os.PathLike
        A .csv (or .parquet) file.

    Returns
    -------
    pandas.DataFrame
        Columns ``track_id``, ``title``, ``name``, ``preview`` (str).

    Raises
    ------
    DataError
        Missing or unreadable file, or no ``track_id`` / ``title`` column.
    """
    path = Path(path)
    fix = "point --metadata (or the config key 'metadata') at a csv with columns track_id, title[, name, preview]"
    if not path.exists():
        raise DataError(path, "metadata file not found", fix)
    bad_lines: list[str] = []
    opts = dict(dtype=str, keep_default_na=False, encoding="utf-8", encoding_errors="replace")
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path).astype(str)
        else:
            try:
                df = pd.read_csv(path, **opts)
            except pd.errors.ParserError:  # rows with a wrong number of fields: skip and report them
                df = pd.read_csv(path, engine="python", on_bad_lines=lambda fields: bad_lines.append(",".join(fields)), **opts)
    except Exception as exc:  # noqa: BLE001 - any reader failure is reported the same way
        raise DataError(path, f"cannot be read as a metadata table ({exc})", fix) from exc
    missing = [c for c in ("track_id", "title") if c not in df.columns]
    if missing:
        raise DataError(path, f"has no column {', '.join(missing)} (columns: {', '.join(map(str, df.columns))})", fix)
    no_id = df["track_id"].astype(str).str.strip() == ""
    if no_id.any():
        bad_lines += [f"row {i + 2} has no track_id" for i in np.flatnonzero(no_id.to_numpy())]
        df = df[~no_id]
    if bad_lines:
        warnings.warn(
            f"{path}: skipped {len(bad_lines)} bad row(s) (e.g. {'; '.join(bad_lines[:3])}); fix them to see those songs' titles",
            UserWarning,
            stacklevel=2,
        )
    for col in ("name", "preview"):
        if col not in df.columns:
            df[col] = ""
    df = df[list(METADATA_COLUMNS)].fillna("")
    return df.drop_duplicates("track_id", keep="first").reset_index(drop=True)


def _join_metadata(vocab: pd.DataFrame, metadata: pd.DataFrame | None) -> pd.DataFrame:
    """One row per vocabulary song: ``index``, ``track_id``, ``count``, ``artist_id``, ``title``,
    ``artist``, ``preview``, ``has_metadata`` (empty strings where unknown)."""
    songs = vocab[["index", "track_id", "count", "artist_id"]].copy()
    songs["track_id"] = songs["track_id"].astype(str)
    songs["artist_id"] = songs["artist_id"].fillna("").astype(str)
    if metadata is None or metadata.empty:
        meta = pd.DataFrame(columns=list(METADATA_COLUMNS), dtype=str)
    else:
        meta = metadata
        ids = set(songs["track_id"])
        # TracksArtists.csv may hold bare Deezer ids where the playlists say track_<id>
        if not ids & set(meta["track_id"]) and meta["track_id"].str.fullmatch(r"\d+").all():
            meta = meta.assign(track_id="track_" + meta["track_id"])
    joined = songs.merge(meta, on="track_id", how="left", validate="one_to_one")
    joined["has_metadata"] = joined["title"].notna().to_numpy()
    for col in ("title", "name", "preview"):
        joined[col] = joined[col].fillna("").astype(str)
    joined = joined.rename(columns={"name": "artist"})
    # an unknown artist name is shown by the artist's id
    joined["artist"] = joined["artist"].where(joined["artist"] != "", joined["artist_id"])
    return joined.reset_index(drop=True)


@dataclass
class RadioWalk:
    """The songs of a radio: the seed, then one song per step.

    Attributes
    ----------
    query : str
        What the seed was asked as (a title or an id).
    seed_index : int
        Vocabulary index of the seed song.
    tracks : list of dict
        One per song, seed first: ``step`` (0 = seed), ``index``, ``track_id``,
        ``title``, ``artist``, ``preview``, ``played`` (false = no preview,
        skipped), ``score`` (similarity to the previous song, or distance for
        the euclidean metric; none for the seed) and ``candidates`` (the
        vocabulary indices it was drawn among).
    messages : list of str
        One line per skipped song, and why a walk stopped early.
    """

    query: str
    seed_index: int
    nb_steps: int
    nb_candidates: int
    seed: int
    entry: str | None
    metric: str
    tracks: list[dict] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def played(self) -> list[dict]:
        """The songs that have a preview, in order."""
        return [t for t in self.tracks if t["played"]]

    def to_dict(self) -> dict:
        """A JSON-ready summary (what ``<slug>.json`` holds)."""
        return {
            "query": self.query,
            "seed_index": self.seed_index,
            "entry": self.entry,
            "metric": self.metric,
            "nb_steps": self.nb_steps,
            "nb_candidates": self.nb_candidates,
            "seed": self.seed,
            "n_played": len(self.played),
            "n_skipped": sum(not t["played"] for t in self.tracks),
            "tracks": self.tracks,
            "messages": self.messages,
        }


def _entry_popularity(results: Path, entry: str) -> float:
    """An entry's ``popularity_prior`` hyperparameter, from ``best.json`` (the best entry) or ``grid.tsv``; 0 if unknown."""
    from .grid import split_run
    from .pipeline import prior_weight

    best = results / "best.json"
    if best.exists():
        with open(best, encoding="utf-8") as fh:
            b = json.load(fh)
        if b.get("entry") == split_run(entry)[0]:
            return prior_weight(b)
    grid = results / "grid.tsv"
    if grid.exists():
        table = pd.read_csv(grid, sep="\t")
        if "popularity_prior" in table.columns:
            row = table[table["entry"] == split_run(entry)[0]]
            if len(row) and not pd.isna(row["popularity_prior"].iloc[0]):
                return float(row["popularity_prior"].iloc[0])
    return 0.0


class Recommender:
    """Find songs, complete playlists and walk a radio in one entry's embedding.

    Parameters
    ----------
    vocab : pandas.DataFrame
        The vocabulary table (``results/vocab.parquet``): ``index``, ``track_id``,
        ``count``, ``artist_id``; row i is song i.
    embeddings : numpy.ndarray, shape (V, dim)
        Row i is the vector of song i (``results/embeddings/{entry}.npy``).
    metadata : pandas.DataFrame, optional
        Titles, artist names and preview URLs (see :func:`read_metadata`), joined on
        ``track_id``. Songs without metadata still work: they are shown by id.
    metric : {"cosine", "euclidean"}
        Neighbour search; use the one the entry was evaluated with.
    entry : str, optional
        The grid entry's name (shown in outputs).
    prior : numpy.ndarray, shape (V,), optional
        Per-song score added before ranking: the entry's popularity prior
        (:func:`track2vec.evaluate.popularity_prior`), as it was evaluated.

    Examples
    --------
    >>> rec = Recommender.from_results("results")            # doctest: +SKIP
    >>> rec.suggest(["Holy Planet"], n=5)                      # doctest: +SKIP
    """

    def __init__(self, vocab: pd.DataFrame, embeddings: np.ndarray, metadata: pd.DataFrame | None = None,
                 metric: str = "cosine", entry: str | None = None, prior: np.ndarray | None = None):
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        if hasattr(embeddings, "complete"):  # a baseline entry (track2vec.baselines.Baseline)
            self.embeddings = embeddings
        else:
            self.embeddings = check_embeddings(np.asarray(embeddings), len(vocab), f"embeddings of entry {entry}")
        self.songs = _join_metadata(vocab, metadata)
        self.metric = metric
        self.entry = entry
        self.prior = prior
        self._by_id = {t: i for i, t in enumerate(self.songs["track_id"])}
        self._norm_titles = None

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_files(cls, vocab: str | os.PathLike, embeddings: str | os.PathLike, metadata: str | os.PathLike | None = None,
                   metric: str = "cosine", entry: str | None = None, popularity: float = 0.0,
                   train: str | os.PathLike | None = None) -> "Recommender":
        """Load from explicit paths (``vocab.parquet``, ``embeddings/{entry}.npy``, a metadata csv).

        ``popularity`` > 0 (the entry's ``popularity_prior``) also needs ``train``
        (``split/train.parquet``), whose song counts make the prior.
        """
        from .pipeline import load_model, song_prior

        for p in (vocab, embeddings):
            if not Path(p).exists():
                raise DataError(p, "not found", "run the pipeline first: snakemake --cores 8")
        vocab_df = pd.read_parquet(vocab)
        emb = load_model(embeddings, len(vocab_df))
        meta = read_metadata(metadata) if metadata else None
        if popularity and train is not None and not Path(train).exists():
            raise DataError(train, "not found (the popularity prior counts songs in it)", "run the pipeline first: snakemake --cores 8")
        prior = song_prior(None if train is None else str(train), len(vocab_df), popularity, emb)
        return cls(vocab_df, emb, meta, metric=metric, entry=entry, prior=prior)

    @classmethod
    def from_results(cls, results: str | os.PathLike = "results", entry: str | None = None,
                     metadata: str | os.PathLike | None = None) -> "Recommender":
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
            With the metric the entry was evaluated with (``metrics/{entry}.json``).

        Raises
        ------
        DataError
            The folder lacks ``best.json``, the entry's embeddings or the vocabulary.
        """
        results = Path(results)
        if entry is None:
            best = results / "best.json"
            if not best.exists():
                raise DataError(best, "not found (no best entry chosen yet)",
                                "run the pipeline (snakemake --cores 8), point --results at its folder, or name an entry with --entry")
            with open(best, encoding="utf-8") as fh:
                entry = json.load(fh)["entry"]
        emb_path = results / "embeddings" / f"{entry}.npy"
        if not emb_path.exists() and (results / "baselines" / f"{entry}.npz").exists():
            emb_path = results / "baselines" / f"{entry}.npz"
        if not emb_path.exists():
            have = sorted(p.stem for p in (results / "embeddings").glob("*.npy"))
            raise DataError(emb_path, f"no embeddings for entry {entry!r}",
                            f"choose one of: {', '.join(have)}" if have else "run the pipeline first: snakemake --cores 8")
        metric = "cosine"
        metrics_path = results / "metrics" / f"{entry}.json"
        if metrics_path.exists():
            with open(metrics_path, encoding="utf-8") as fh:
                metric = json.load(fh).get("metric", metric)
        if metadata is None and (results / "data" / "synthetic_tracks.csv").exists():
            metadata = results / "data" / "synthetic_tracks.csv"
        return cls.from_files(results / "vocab.parquet", emb_path, metadata, metric=metric, entry=entry,
                              popularity=_entry_popularity(results, entry), train=results / "split" / "train.parquet")

    # ------------------------------------------------------------------ songs
    @property
    def size(self) -> int:
        """Number of songs in the vocabulary."""
        return len(self.songs)

    def label(self, index: int) -> str:
        """``Title — Artist`` of a song, its track id when it has no title."""
        row = self.songs.iloc[int(index)]
        title = row["title"] or row["track_id"]
        return f"{title} — {row['artist']}" if row["artist"] else title

    def track(self, index: int) -> dict:
        """A song as a plain dict: ``index``, ``track_id``, ``title``, ``artist``, ``preview``, ``count``."""
        row = self.songs.iloc[int(index)]
        return {
            "index": int(index),
            "track_id": str(row["track_id"]),
            "title": str(row["title"] or row["track_id"]),
            "artist": str(row["artist"]),
            "preview": str(row["preview"]),
            "count": int(row["count"]),
        }

    def find(self, title: str, limit: int | None = None) -> pd.DataFrame:
        """Songs whose title matches, case- and accent-insensitively: exact matches first, then partial ones.

        Parameters
        ----------
        title : str
        limit : int, optional
            At most this many rows.

        Returns
        -------
        pandas.DataFrame
            ``index``, ``track_id``, ``title``, ``artist``, ``count``, ``preview``,
            ``match`` ("exact" or "partial"); within each kind, the more played first.
            Empty when nothing matches.
        """
        if self._norm_titles is None:
            self._norm_titles = self.songs["title"].map(normalize_title).to_numpy(dtype=object)
        q = normalize_title(title)
        cols = ["index", "track_id", "title", "artist", "count", "preview"]
        if not q:
            return self.songs.iloc[:0][cols].assign(match=pd.Series(dtype=str))
        titles = self._norm_titles
        exact = np.flatnonzero(titles == q)
        partial = np.flatnonzero(np.array([q in t and t != q for t in titles], dtype=bool))
        idx = np.concatenate([exact, partial]).astype(np.int64)
        out = self.songs.iloc[idx][cols].copy()
        out["match"] = ["exact"] * len(exact) + ["partial"] * len(partial)
        out = out.reset_index(drop=True)
        return out if limit is None else out.head(limit)

    def resolve(self, song: str | int) -> int:
        """The vocabulary index of a song given as a track id (``track_123``), ``#<index>``, or a title.

        A title is resolved as :meth:`find` does; the first match (exact before
        partial, then the most played) wins.

        Raises
        ------
        SongNotFoundError
            Nothing matches.
        """
        if isinstance(song, (int, np.integer)):
            if not 0 <= int(song) < self.size:
                raise SongNotFoundError(f"no song has vocabulary index {song} (the vocabulary has {self.size} songs)")
            return int(song)
        text = str(song).strip()
        if text in self._by_id:
            return self._by_id[text]
        if text.startswith("#") and text[1:].isdigit():
            return self.resolve(int(text[1:]))
        hits = self.find(text, limit=1)
        if hits.empty:
            raise SongNotFoundError(
                f"no song matches {text!r}: give a title (case and accents do not matter; part of a title works), "
                f"a track id such as {self.songs['track_id'].iloc[0]!r}, or #<vocabulary index>; "
                "`track2vec find WORD` lists matching titles"
            )
        return int(hits["index"].iloc[0])

    # ------------------------------------------------------------------ suggestions
    def suggest_indices(self, playlist: Sequence[int], n: int = 10, last: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Vocabulary indices and scores of ``n`` songs to continue a playlist of indices.

        See :func:`track2vec.evaluate.complete_playlists` (the evaluated code path).
        """
        playlist = [int(i) for i in playlist]
        if not playlist:
            raise ValueError("the playlist is empty: give at least one song")
        room = self.size - len(set(playlist))
        if not 1 <= n <= room:
            raise ValueError(f"n must be between 1 and {room} (songs not in the playlist), got {n}")
        idx, scores = complete_playlists(self.embeddings, [playlist], k=n, metric=self.metric, last=last, prior=self.prior)
        return idx[0], scores[0]

    def suggest(self, playlist: Iterable[str | int], n: int = 10, last: int = 1) -> pd.DataFrame:
        """Suggest ``n`` songs to continue a playlist, never one already in it.

        Parameters
        ----------
        playlist : iterable of str or int
            Songs in order: track ids, titles (resolved as :meth:`resolve`), ``#<index>``
            or vocabulary indices (int).
        n : int
            Number of suggestions.
        last : int
            1 (default): neighbours of the last song, as the evaluation scores them;
            m > 1: neighbours of the mean of the last m songs.

        Returns
        -------
        pandas.DataFrame
            ``rank``, ``index``, ``track_id``, ``title``, ``artist``, ``score``
            (cosine similarity, or euclidean distance), ``preview``.
        """
        indices = [self.resolve(s) for s in playlist]
        idx, scores = self.suggest_indices(indices, n=n, last=last)
        out = self.songs.iloc[idx][["index", "track_id", "title", "artist", "preview"]].copy()
        out["title"] = out["title"].where(out["title"] != "", out["track_id"])
        out.insert(0, "rank", np.arange(1, len(idx) + 1))
        out["score"] = scores
        return out.reset_index(drop=True)

    # ------------------------------------------------------------------ radio
    def radio(self, song: str | int, nb_steps: int = 20, nb_candidates: int = 5, seed: int = 0) -> RadioWalk:
        """A radio from a seed song: each next song drawn at random among the ``nb_candidates``
        nearest neighbours of the current one, never a song already played.

        A song without a preview is skipped (recorded with ``played: false`` and a
        message) and the walk goes on from it. The walk stops early only when
        every song has been visited.

        Parameters
        ----------
        song : str or int
            The seed song (see :meth:`resolve`).
        nb_steps : int
            Songs drawn after the seed.
        nb_candidates : int
            Size of the neighbourhood each next song is drawn from.
        seed : int
            Seed of the random draws: the same seed gives the same radio.

        Returns
        -------
        RadioWalk
        """
        if nb_steps < 0 or nb_candidates < 1:
            raise ValueError("nb_steps must be >= 0 and nb_candidates >= 1")
        rng = np.random.default_rng(seed)
        current = self.resolve(song)
        walk = RadioWalk(query=str(song), seed_index=current, nb_steps=nb_steps, nb_candidates=nb_candidates,
                         seed=int(seed), entry=self.entry, metric=self.metric)
        visited = [current]
        self._add(walk, current, step=0, score=None, candidates=[])
        for step in range(1, nb_steps + 1):
            k = min(nb_candidates, self.size - len(visited))
            if k < 1:
                walk.messages.append(f"step {step}: every song has been played; the radio stops")
                break
            # the current song is the last of the visited ones: the suggest code path
            cand, scores = complete_playlists(self.embeddings, [visited], k=k, metric=self.metric, prior=self.prior)
            pick = int(rng.integers(k))
            current = int(cand[0, pick])
            visited.append(current)
            self._add(walk, current, step=step, score=float(scores[0, pick]), candidates=cand[0].tolist())
        return walk

    def _add(self, walk: RadioWalk, index: int, step: int, score: float | None, candidates: list[int]) -> None:
        t = self.track(index)
        t.pop("count")
        t.update(step=step, played=bool(t["preview"]), score=score, candidates=[int(c) for c in candidates])
        if not t["played"]:
            song = self.label(index) if t["title"] == t["track_id"] else f"{self.label(index)} ({t['track_id']})"
            walk.messages.append(f"step {step}: skipped {song}: no preview")
        walk.tracks.append(t)
