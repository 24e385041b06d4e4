"""A radio: a random walk through a model's nearest neighbours, and the files that play it.

Usage::

    from track2vec.radio import walk_radio, write_radio

    walk = walk_radio(model, catalog, "Holy Planet", nb_steps=20, nb_candidates=5, seed=0)
    write_radio(walk, "holy-planet.m3u8", "holy-planet.json", "holy-planet.html")
    walk.measures  # distinct artists, longest same-artist run, similarity to the seed, ...

From the seed song, each next song is drawn at random among the ``nb_candidates`` best songs
not played yet, ranked by :func:`track2vec.models.complete_playlists` (the ranking the
evaluation scores) from the current song or, with ``anchor`` above 0, from a point between the
current song and the seed: a candidate scores ``(1 - anchor) * sim(current) + anchor *
sim(seed)``, so the radio stays near where it began. Artists are kept apart: a candidate that
would make more than ``max_artist_run`` songs of one artist in a row, or more than
``max_per_artist`` in the radio, is left out; where every candidate is, the list widens (twice
as long, again if need be) before a rule is broken, and a message says so. A song without a
preview is skipped and the walk goes on from it. A radio is written as an .m3u8 playlist of the
previews, a .json summary with its measures, and a self-contained HTML page (inline style and
script) that plays the previews one after another in an ``<audio>`` element, moving on when one
ends *or* fails to load.
"""

from __future__ import annotations

import collections
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import write_json, write_text
from .catalog import Catalog
from .knn import METRICS, nearest_neighbours
from .models import Embedding, Model, as_model, complete_playlists

__all__ = [
    "ANCHOR",
    "MAX_ARTIST_RUN",
    "MAX_PER_ARTIST",
    "NB_CANDIDATES",
    "NB_STEPS",
    "PER_ARTIST_SHARE",
    "RadioWalk",
    "describe_measures",
    "measure_walk",
    "per_artist_limit",
    "popular_seeds",
    "to_html",
    "to_m3u8",
    "walk_radio",
    "walk_radios",
    "write_radio",
]

#: the radio's defaults: config.yaml's ``radio:`` keys (tests/test_radio.py checks that they agree)
NB_STEPS = 20
NB_CANDIDATES = 5
ANCHOR = 0.3
MAX_ARTIST_RUN = 1
MAX_PER_ARTIST = "auto"
#: ``max_per_artist: auto`` allows one song in this many of the radio's (seed included), rounded up
PER_ARTIST_SHARE = 7
#: with artist rules, each search fetches this many times ``nb_candidates`` songs, so that a
#: widened list seldom needs another search (the ranking's head is the same at any depth)
_FETCH = 4


@dataclass
class RadioWalk:
    """The songs of a radio: the seed, then one song per step.

    Attributes
    ----------
    query : str
        What the seed was asked as (a title or an id).
    seed_index : int
        Vocabulary index of the seed song (-1 when no song matched it).
    nb_steps, nb_candidates, seed : int
        The walk's settings (see :func:`walk_radio`).
    entry : str or None
        The grid entry whose model made the walk.
    metric : str
        The neighbour search's metric.
    tracks : list of dict
        One per song, seed first: ``step`` (0 = seed), ``index``, ``track_id``, ``title``,
        ``artist``, ``artist_id`` (empty when unknown), ``preview``, ``played`` (false = no
        preview, skipped), ``score`` (what the song was ranked by: its similarity to the
        previous song, with ``anchor`` its anchored score, or distance for the euclidean
        metric; none for the seed), ``seed_similarity`` (cosine similarity to the seed song's
        vector; none for a baseline) and ``candidates`` (the vocabulary indices it was drawn
        among).
    messages : list of str
        One line per skipped song, per widened candidate list or broken artist rule, and why
        a walk stopped early.
    anchor : float
        The weight of the seed song in the ranking (0 for a baseline, which ranks from the
        current song).
    max_artist_run, max_per_artist : int or None
        The artist rules the walk kept (None: off; ``max_per_artist`` as a number of songs).
    measures : dict
        :func:`measure_walk` of the songs, with ``n_widened`` (steps whose candidate list
        widened) and ``n_rule_broken`` (steps that had to break an artist rule).
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
    anchor: float = 0.0
    max_artist_run: int | None = None
    max_per_artist: int | None = None
    measures: dict = field(default_factory=dict)

    @property
    def played(self) -> list[dict]:
        """The songs that have a preview, in order."""
        return [t for t in self.tracks if t["played"]]

    def notes(self) -> list[str]:
        """What the page and the command show of :attr:`messages`: every line but the skipped
        songs (the list marks them) and the widened candidate lists, which one line counts."""
        out = [m for m in self.messages if "skipped" not in m and "widened" not in m]
        widened = sum("widened" in m for m in self.messages)
        if widened:
            out.append(
                f"the candidate list widened at {widened} of {max(0, len(self.tracks) - 1)} steps "
                "to keep artists apart (the JSON file lists them)"
            )
        return out

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
            "anchor": self.anchor,
            "max_artist_run": self.max_artist_run,
            "max_per_artist": self.max_per_artist,
            "n_played": len(self.played),
            "n_skipped": sum(not t["played"] for t in self.tracks),
            "measures": self.measures,
            "tracks": self.tracks,
            "messages": self.messages,
        }


def per_artist_limit(max_per_artist: int | str | None, nb_steps: int) -> int | None:
    """The most songs of one artist a radio of ``nb_steps`` steps may hold.

    Parameters
    ----------
    max_per_artist : int, "auto" or None
        A number of songs (at least 1); ``auto``: one in :data:`PER_ARTIST_SHARE` of the
        radio's ``nb_steps + 1`` songs, rounded up (3 of 21); None: no limit.
    nb_steps : int
        Songs after the seed.

    Raises
    ------
    ValueError
        Neither a number of at least 1, ``auto``, nor None.
    """
    if max_per_artist is None:
        return None
    if max_per_artist == "auto":
        return max(1, math.ceil((nb_steps + 1) / PER_ARTIST_SHARE))
    if isinstance(max_per_artist, (bool, np.bool_)) or not isinstance(max_per_artist, (int, np.integer)):
        raise ValueError(f"max_per_artist must be a number of songs, 'auto' or None, got {max_per_artist!r}")
    if max_per_artist < 1:
        raise ValueError(f"max_per_artist must be at least 1 (None: no limit), got {max_per_artist}")
    return int(max_per_artist)


def measure_walk(tracks: Sequence[Mapping], genres: np.ndarray | None = None) -> dict:
    """How varied a radio is and how near it stays to its seed.

    Parameters
    ----------
    tracks : sequence of mapping
        The songs, seed first (:attr:`RadioWalk.tracks`): ``index``, ``artist_id`` (empty
        when unknown) and ``seed_similarity`` (None when unknown).
    genres : numpy.ndarray of int, shape (V,), optional
        The genre of every song of the vocabulary (negative: unknown), as
        :meth:`track2vec.catalog.Catalog.genres` gives on the built-in dataset.

    Returns
    -------
    dict
        ``n_songs``; ``distinct_artists`` (songs of an unknown artist not counted);
        ``longest_artist_run`` (the most consecutive songs of one known artist; a song of
        an unknown artist ends a run); ``mean_seed_similarity`` (over the songs after the
        seed; None when no song has one); ``same_genre_share`` (the share of the songs after
        the seed in the seed's genre; None without genres, or with the seed's unknown).

    Examples
    --------
    >>> tracks = [{"index": 0, "artist_id": "a", "seed_similarity": 1.0},
    ...           {"index": 1, "artist_id": "a", "seed_similarity": 0.5},
    ...           {"index": 2, "artist_id": "", "seed_similarity": 0.25},
    ...           {"index": 3, "artist_id": "b", "seed_similarity": 0.0}]
    >>> m = measure_walk(tracks, genres=np.array([7, 7, 1, 7]))
    >>> m["distinct_artists"], m["longest_artist_run"], m["mean_seed_similarity"], m["same_genre_share"]
    (2, 2, 0.25, 0.6666666666666666)
    """
    artists = [str(t.get("artist_id") or "") for t in tracks]
    longest = run = 0
    previous = ""
    for a in artists:
        run = run + 1 if a and a == previous else int(bool(a))
        previous = a
        longest = max(longest, run)
    sims = [float(t["seed_similarity"]) for t in tracks[1:] if t.get("seed_similarity") is not None]
    share = None
    if genres is not None and len(tracks) > 1:
        genres = np.asarray(genres)
        seed_genre = genres[int(tracks[0]["index"])]
        if seed_genre >= 0:
            share = float(np.mean([genres[int(t["index"])] == seed_genre for t in tracks[1:]]))
    return {
        "n_songs": len(tracks),
        "distinct_artists": len({a for a in artists if a}),
        "longest_artist_run": longest,
        "mean_seed_similarity": float(np.mean(sims)) if sims else None,
        "same_genre_share": share,
    }


def popular_seeds(catalog: Catalog, n: int, among: int, seed: int = 0) -> np.ndarray:
    """``n`` seed songs drawn at random (``numpy.random.default_rng(seed)``) among the ``among``
    most played songs of the vocabulary, most played first.

    Parameters
    ----------
    catalog : Catalog
        The songs, with their ``count``.
    n : int
        Seeds to draw (fewer when the vocabulary or ``among`` holds fewer songs).
    among : int
        Draw among this many most played songs.
    seed : int
        Seed of the draw.

    Returns
    -------
    numpy.ndarray of int64
        Vocabulary indices.
    """
    counts = catalog.songs["count"].to_numpy()
    order = np.lexsort((np.arange(len(counts)), -counts))[: max(0, int(among))]
    rng = np.random.default_rng(seed)
    chosen = rng.choice(order, size=min(max(0, int(n)), len(order)), replace=False)
    rank = np.empty(len(counts), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return np.asarray(sorted(chosen.tolist(), key=lambda i: rank[i]), dtype=np.int64)


def walk_radio(
    model,
    catalog: Catalog,
    song: str | int,
    nb_steps: int = NB_STEPS,
    nb_candidates: int = NB_CANDIDATES,
    seed: int = 0,
    metric: str = "cosine",
    prior: np.ndarray | None = None,
    entry: str | None = None,
    anchor: float = ANCHOR,
    max_artist_run: int | None = MAX_ARTIST_RUN,
    max_per_artist: int | str | None = MAX_PER_ARTIST,
    genres: np.ndarray | None = None,
) -> RadioWalk:
    """A radio from a seed song: each next song drawn at random among the ``nb_candidates``
    best songs not played yet, keeping artists apart.

    The candidates are :func:`~track2vec.models.complete_playlists` of the songs visited so
    far, as a playlist whose last song is the current one; with ``anchor`` above 0, the
    exact nearest neighbours of the point ``(1 - anchor) * current + anchor * seed`` (for
    cosine, of the songs' unit vectors), which ranks a song by ``(1 - anchor) *
    sim(current) + anchor * sim(seed)`` (plus the prior). Among the candidates, those that
    keep the artist rules are drawn from uniformly; where none does, the list doubles (and
    again) until one does, and the draw is among its ``nb_candidates`` best that do. Only
    when no song left keeps them is a rule broken: ``max_per_artist`` first. Songs of an
    unknown artist keep every rule. A song without a preview is skipped (recorded with
    ``played: false`` and a message) and the walk goes on from it; the run rule holds both
    for the walk's songs and for the songs heard. The walk stops early only when every
    song has been visited.

    With ``anchor=0``, ``max_artist_run=None`` and ``max_per_artist=None`` each song is
    drawn among the ``nb_candidates`` nearest neighbours of the current one, as the
    evaluation ranks them.

    Parameters
    ----------
    model : numpy.ndarray of shape (V, dim), or Model
        The entry's embedding or baseline (see :mod:`track2vec.models`).
    catalog : Catalog
        The songs of the same vocabulary (``artist_id`` gives each song's artist).
    song : str or int
        The seed song (see :meth:`Catalog.resolve`).
    nb_steps : int
        Songs drawn after the seed.
    nb_candidates : int
        Size of the list each next song is drawn from.
    seed : int
        Seed of the random draws (``numpy.random.default_rng``): the same seed gives the same radio.
    metric : {"cosine", "euclidean"}
        Neighbour search; use the one the entry was evaluated with.
    prior : numpy.ndarray, shape (V,), optional
        Per-song score added before ranking (the entry's popularity prior).
    entry : str, optional
        The grid entry's name (recorded in the walk).
    anchor : float
        Weight of the seed song in the ranking, in [0, 1]: 0 ranks from the current song
        alone, 1 from the seed alone. A baseline ranks from the current song whatever it
        is (a message says so).
    max_artist_run : int or None
        The most songs of one artist in a row (None: no limit).
    max_per_artist : int, "auto" or None
        The most songs of one artist in the radio (see :func:`per_artist_limit`).
    genres : numpy.ndarray of int, shape (V,), optional
        Every song's genre, for the ``same_genre_share`` measure (built-in dataset).

    Returns
    -------
    RadioWalk

    Raises
    ------
    SongNotFoundError
        No song matches ``song``.
    ValueError
        ``nb_steps`` < 0, ``nb_candidates`` < 1, an unknown metric, an anchor outside
        [0, 1], an artist limit below 1, or a model and a catalog of different sizes.
    """
    return walk_radios(
        model,
        catalog,
        [song],
        nb_steps=nb_steps,
        nb_candidates=nb_candidates,
        seed=seed,
        metric=metric,
        prior=prior,
        entry=entry,
        anchor=anchor,
        max_artist_run=max_artist_run,
        max_per_artist=max_per_artist,
        genres=genres,
    )[0]


def walk_radios(
    model,
    catalog: Catalog,
    songs: Sequence[str | int],
    nb_steps: int = NB_STEPS,
    nb_candidates: int = NB_CANDIDATES,
    seed: int = 0,
    metric: str = "cosine",
    prior: np.ndarray | None = None,
    entry: str | None = None,
    anchor: float = ANCHOR,
    max_artist_run: int | None = MAX_ARTIST_RUN,
    max_per_artist: int | str | None = MAX_PER_ARTIST,
    genres: np.ndarray | None = None,
) -> list[RadioWalk]:
    """One radio per seed song, each the :func:`walk_radio` of its seed with these settings.

    The walks advance together, so that each step searches the neighbours of every radio
    at once (the measure of many radios costs a few searches per step); each draws with
    its own ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    songs : sequence of str or int
        The seed songs.
    model, catalog, nb_steps, nb_candidates, seed, metric, prior, entry, anchor,
    max_artist_run, max_per_artist, genres
        As :func:`walk_radio`.

    Returns
    -------
    list of RadioWalk
        In the order of ``songs``.
    """
    model = _checked_model(model, catalog, nb_steps, nb_candidates, metric)
    if not 0.0 <= float(anchor) <= 1.0:
        raise ValueError(f"anchor must be between 0 and 1, got {anchor!r}")
    if max_artist_run is not None and (isinstance(max_artist_run, bool) or int(max_artist_run) < 1):
        raise ValueError(f"max_artist_run must be at least 1 (None: no limit), got {max_artist_run!r}")
    run = None if max_artist_run is None else int(max_artist_run)
    per_artist = per_artist_limit(max_per_artist, nb_steps)
    embedding = model if isinstance(model, Embedding) else None
    effective = float(anchor) if embedding is not None else 0.0
    walkers = [
        _Walker(
            RadioWalk(
                query=str(s),
                seed_index=catalog.resolve(s),
                nb_steps=nb_steps,
                nb_candidates=nb_candidates,
                seed=int(seed),
                entry=entry,
                metric=metric,
                anchor=effective,
                max_artist_run=run,
                max_per_artist=per_artist,
            ),
            seed,
        )
        for s in songs
    ]
    if not walkers:
        return []
    songs_info = _SongInfo(catalog, embedding)
    rank = _Ranker(model, embedding, metric, prior, effective, [w.walk.seed_index for w in walkers])
    for w in walkers:
        if anchor and embedding is None:
            w.walk.messages.append(
                f"anchor {anchor} does not apply to a baseline ({getattr(model, 'method', 'counts')}): "
                "each song is ranked from the current one"
            )
        w.visit(songs_info, w.walk.seed_index, step=0, score=None, candidates=[])
    for step in range(1, nb_steps + 1):
        unplayed = catalog.size - len(walkers[0].visited)
        if unplayed < 1:
            for w in walkers:
                w.walk.messages.append(f"step {step}: every song has been played; the radio stops")
            break
        _step(walkers, step, rank, songs_info, nb_candidates, unplayed, run, per_artist)
    for w in walkers:
        w.walk.measures = {
            **measure_walk(w.walk.tracks, genres),
            "n_widened": w.widened,
            "n_rule_broken": w.broken,
        }
    return [w.walk for w in walkers]


def _checked_model(model, catalog: Catalog, nb_steps: int, nb_candidates: int, metric: str) -> Model:
    """``model`` as a :class:`~track2vec.models.Model`, once the walk's settings are checked."""
    if nb_steps < 0 or nb_candidates < 1:
        raise ValueError("nb_steps must be >= 0 and nb_candidates >= 1")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    model = as_model(model)
    if model.n_songs != catalog.size:
        raise ValueError(f"the model ranks {model.n_songs} songs but the catalog has {catalog.size}")
    return model


class _SongInfo:
    """What the walk reads of every song: its artist (a code, -1 unknown), whether it has a
    preview, and its vector (an embedding's rows, as float64 unit vectors on demand)."""

    def __init__(self, catalog: Catalog, embedding: Embedding | None) -> None:
        self.catalog = catalog
        self.artist = catalog.artist_codes
        self.has_preview = (catalog.songs["preview"] != "").to_numpy()
        self.embedding = embedding

    def unit_rows(self, idx) -> np.ndarray:
        """Unit vectors (float64) of the songs ``idx`` (a zero vector stays zero)."""
        x = np.asarray(self.embedding.matrix[np.asarray(idx, dtype=np.int64)], dtype=np.float64)
        norms = np.linalg.norm(x, axis=-1, keepdims=True)
        return x / np.where(norms == 0, 1.0, norms)


class _Ranker:
    """The ranked songs not played yet of several walks, searched together.

    ``anchor`` 0, or a baseline: :func:`~track2vec.models.complete_playlists` of the walks'
    songs (the evaluated ranking from the current song). Otherwise the exact nearest
    neighbours of ``(1 - anchor) * current + anchor * seed``: for cosine the songs' unit
    vectors, scored as given (not normalised), so that a song scores ``(1 - anchor) *
    cos(current) + anchor * cos(seed)``; for euclidean their raw vectors, whose squared
    distance to a song is the same mix of the two squared distances, up to a constant.
    """

    def __init__(self, model: Model, embedding, metric: str, prior, anchor: float, seeds: list[int]) -> None:
        self.model, self.metric, self.prior, self.anchor = model, metric, prior, anchor
        self.matrix = None if embedding is None or anchor == 0 else embedding.matrix
        self.seed_vectors = None if self.matrix is None else self._vectors(seeds)

    def _vectors(self, idx) -> np.ndarray:
        x = np.asarray(self.matrix[np.asarray(idx, dtype=np.int64)], dtype=np.float64)
        if self.metric == "cosine":
            norms = np.linalg.norm(x, axis=-1, keepdims=True)
            x = x / np.where(norms == 0, 1.0, norms)
        return x

    def __call__(self, rows: list[int], visited: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best songs (indices, scores) of walks ``rows``, whose visited songs are
        ``visited`` (one row per walk, the current song last)."""
        if self.matrix is None:
            return complete_playlists(self.model, visited, k=k, metric=self.metric, prior=self.prior)
        current = visited[:, -1]
        queries = (1.0 - self.anchor) * self._vectors(current) + self.anchor * self.seed_vectors[rows]
        return nearest_neighbours(
            self.matrix,
            current,
            k=k,
            metric=self.metric,
            exclude=visited if visited.shape[1] > 1 else None,
            query_vectors=queries,
            prior=self.prior,
            normalize_queries=False,
        )


class _Walker:
    """One radio being walked: its songs, its artists (as played and as heard) and its draws."""

    def __init__(self, walk: RadioWalk, seed: int) -> None:
        self.walk = walk
        self.rng = np.random.default_rng(seed)
        self.visited: list[int] = []
        self.artists: list[int] = []  # of every song of the walk (-1: unknown)
        self.heard: list[int] = []  # of the songs with a preview
        self.counts: collections.Counter = collections.Counter()
        self.widened = 0
        self.broken = 0

    def keeps(self, info: _SongInfo, song: int, run: int | None, per_artist: int | None) -> bool:
        """Whether ``song`` as the next one keeps the artist rules."""
        a = int(info.artist[song])
        if a < 0:
            return True
        if per_artist is not None and self.counts[a] >= per_artist:
            return False
        if run is not None:
            if _trailing(self.artists, a) >= run:
                return False
            if info.has_preview[song] and _trailing(self.heard, a) >= run:
                return False
        return True

    def visit(self, info: _SongInfo, index: int, step: int, score: float | None, candidates: list[int]) -> None:
        """Add a song to the walk; one without a preview is marked not played, with a message."""
        catalog = info.catalog
        t = catalog.track(index)
        t.pop("count")
        seed_similarity = None
        if info.embedding is not None:
            u = info.unit_rows([self.walk.seed_index, index])
            # the seed's own: 1 by definition (0 for a zero vector), not its rounded square norm
            seed_similarity = float(u[0] @ u[1]) if step else float(np.any(u[0]))
        t.update(
            artist_id=str(catalog.songs["artist_id"].iat[index]),
            step=step,
            played=bool(t["preview"]),
            score=score,
            seed_similarity=seed_similarity,
            candidates=[int(c) for c in candidates],
        )
        if not t["played"]:
            label = catalog.label(index)
            song = label if t["title"] == t["track_id"] else f"{label} ({t['track_id']})"
            self.walk.messages.append(f"step {step}: skipped {song}: no preview")
        self.walk.tracks.append(t)
        a = int(info.artist[index])
        self.visited.append(int(index))
        self.artists.append(a)
        if t["played"]:
            self.heard.append(a)
        if a >= 0:
            self.counts[a] += 1


def _trailing(artists: list[int], artist: int) -> int:
    """How many songs at the end of ``artists`` are by ``artist``."""
    n = 0
    for a in reversed(artists):
        if a != artist:
            break
        n += 1
    return n


def _step(
    walkers: list[_Walker],
    step: int,
    rank: _Ranker,
    info: _SongInfo,
    nb_candidates: int,
    unplayed: int,
    run: int | None,
    per_artist: int | None,
) -> None:
    """Draw the next song of every walk (each has ``unplayed`` >= 1 songs left)."""
    k0 = min(nb_candidates, unplayed)
    rules = run is not None or per_artist is not None
    depth = min(unplayed, _FETCH * k0) if rules else k0
    visited = np.array([w.visited for w in walkers], dtype=np.int64)
    idx, scores = rank(list(range(len(walkers))), visited, depth)
    lists = {i: (idx[i], scores[i]) for i in range(len(walkers))}
    width = dict.fromkeys(lists, k0)
    chosen: dict[int, list[int] | None] = {}
    pending = list(lists)
    while pending:
        deeper = []
        for i in pending:
            w, (cand, _) = walkers[i], lists[i]
            while True:
                seen = min(width[i], len(cand))
                keep = [j for j in range(seen) if w.keeps(info, int(cand[j]), run, per_artist)]
                if keep:
                    chosen[i] = keep[:nb_candidates]
                    break
                if width[i] >= unplayed:
                    chosen[i] = None  # no song left keeps the rules
                    break
                width[i] = min(2 * width[i], unplayed)
                if width[i] > len(cand):
                    deeper.append(i)
                    break
        if deeper:
            need = min(unplayed, max(width[i] for i in deeper) * (2 if rules else 1))
            more_idx, more_scores = rank(deeper, visited[deeper], need)
            for row, i in enumerate(deeper):
                lists[i] = (more_idx[row], more_scores[row])
        pending = deeper
    for i, w in enumerate(walkers):
        cand, score = lists[i]
        keep = chosen[i]
        if width[i] > k0:
            w.widened += 1
            w.walk.messages.append(
                f"step {step}: each of the {k0} candidates breaks an artist rule; the list widened to {width[i]}"
            )
        if keep is None:
            # no song left keeps both rules: keep the run rule if a song can, else neither
            keep = [j for j in range(len(cand)) if w.keeps(info, int(cand[j]), run, None)][:nb_candidates]
            keep = keep or list(range(k0))
        pick = keep[int(w.rng.integers(len(keep)))]
        if chosen[i] is None:
            song = int(cand[pick])
            broke = [f"max_artist_run ({run})"] if not w.keeps(info, song, run, None) else []
            broke += [f"max_per_artist ({per_artist})"] if not w.keeps(info, song, None, per_artist) else []
            w.broken += 1
            w.walk.messages.append(
                f"step {step}: no song left keeps the artist rules; this step breaks {' and '.join(broke)}"
            )
        w.visit(
            info,
            int(cand[pick]),
            step=step,
            score=float(score[pick]),
            candidates=[int(cand[j]) for j in keep],
        )


def _display(t: Mapping) -> str:
    return f"{t['artist']} - {t['title']}" if t.get("artist") else str(t["title"])


def to_m3u8(walk: RadioWalk) -> str:
    """Extended M3U (UTF-8) of the songs that have a preview: ``#EXTINF:-1,Artist - Title`` then the URL."""
    lines = ["#EXTM3U", f"#PLAYLIST:track2vec radio: {_title(walk)}"]
    for t in walk.played:
        name = _display(t).replace("\n", " ")
        lines += [f"#EXTINF:-1,{name}", t["preview"]]
    return "\n".join(lines) + "\n"


def _title(walk: RadioWalk) -> str:
    if walk.tracks:
        return str(walk.tracks[0]["title"])
    return walk.query


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 46rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
.meta { color: #666; font-size: .9rem; margin-top: 0; }
#now { font-weight: 600; min-height: 1.4em; }
audio { width: 100%; margin: .5rem 0 1rem; }
ol { padding-left: 2rem; }
li { padding: .25rem .4rem; border-radius: .3rem; }
li.track { cursor: pointer; }
li.playing { background: #dbeafe; font-weight: 600; }
li.done { color: #555; }
li.failed { color: #b91c1c; }
li.failed::after { content: " — could not be played"; font-size: .85rem; }
li.skipped { color: #999; }
.artist { color: #555; }
.note { color: #999; font-size: .85rem; }
#start { display: none; margin: .5rem 0; }
"""

_JS = """
(function () {
  var player = document.getElementById('player');
  var now = document.getElementById('now');
  var start = document.getElementById('start');
  var items = Array.prototype.slice.call(document.querySelectorAll('#tracks li.track'));
  var current = -1;
  window.radioLog = [];
  function show(i) {
    document.body.dataset.current = String(i);
    items.forEach(function (li, j) { li.classList.toggle('playing', j === i); });
  }
  function play(i) {
    if (i >= items.length) {
      current = items.length;
      show(-1);
      player.removeAttribute('src');
      now.textContent = items.length ? 'End of the radio.' : 'No song of this radio has a preview.';
      document.body.dataset.state = 'finished';
      return;
    }
    current = i;
    var li = items[i];
    show(i);
    now.textContent = 'Now playing: ' + li.dataset.label;
    document.body.dataset.state = 'playing';
    player.src = li.dataset.src;
    var p = player.play();
    if (p && p.catch) {
      p.catch(function (err) {
        // autoplay refused: wait for a click; load failures are handled by the error event
        if (err && err.name === 'NotAllowedError') { start.style.display = 'inline-block'; }
      });
    }
  }
  function next(why) {
    if (current < 0 || current >= items.length) { return; }
    window.radioLog.push({index: current, event: why});
    items[current].classList.add(why === 'error' ? 'failed' : 'done');
    play(current + 1);
  }
  player.addEventListener('ended', function () { next('ended'); });
  player.addEventListener('error', function () { if (player.getAttribute('src')) { next('error'); } });
  start.addEventListener('click', function () { start.style.display = 'none'; \
play(current < 0 || current >= items.length ? 0 : current); });
  items.forEach(function (li, j) { li.addEventListener('click', function () { play(j); }); });
  play(0);
})();
"""


def _settings(walk: RadioWalk) -> str:
    """The walk's anchor and artist rules, in words."""
    run = "no limit in a row" if walk.max_artist_run is None else f"at most {walk.max_artist_run} in a row"
    total = "no limit in all" if walk.max_per_artist is None else f"at most {walk.max_per_artist} in all"
    return f"anchor {walk.anchor:g} · songs per artist: {run}, {total}"


def describe_measures(measures: Mapping) -> str:
    """A radio's measures (:attr:`RadioWalk.measures`) in one line; empty when there are none.

    Examples
    --------
    >>> describe_measures({"n_songs": 21, "distinct_artists": 12, "longest_artist_run": 1,
    ...                    "mean_seed_similarity": 0.61234, "same_genre_share": 0.85})
    "12 artists in 21 songs · longest same-artist run 1 · mean similarity to the seed 0.612 · 85% in the seed's genre"
    """
    if not measures:
        return ""
    parts = [
        f"{measures['distinct_artists']} artists in {measures['n_songs']} songs",
        f"longest same-artist run {measures['longest_artist_run']}",
    ]
    if measures.get("mean_seed_similarity") is not None:
        parts.append(f"mean similarity to the seed {measures['mean_seed_similarity']:.3f}")
    if measures.get("same_genre_share") is not None:
        parts.append(f"{100 * measures['same_genre_share']:.0f}% in the seed's genre")
    return " · ".join(parts)


def to_html(walk: RadioWalk) -> str:
    """A self-contained HTML page: the songs of the walk and an ``<audio>`` player that plays the
    previews in order, moving on at ``ended`` and at ``error``."""
    title = _title(walk)
    rows = []
    for t in walk.tracks:
        label = html.escape(str(t["title"]))
        artist = f' <span class="artist">— {html.escape(str(t["artist"]))}</span>' if t.get("artist") else ""
        seed = ' <span class="note">(seed)</span>' if t["step"] == 0 else ""
        if t["played"]:
            rows.append(
                f'<li class="track" data-src="{html.escape(t["preview"], quote=True)}" '
                f'data-label="{html.escape(_display(t), quote=True)}" data-index="{t["index"]}">'
                f'<span class="title">{label}</span>{artist}{seed}</li>'
            )
        else:
            rows.append(
                f'<li class="skipped" data-index="{t["index"]}"><span class="title">{label}</span>{artist}{seed} '
                f'<span class="note">(no preview, skipped)</span></li>'
            )
    messages = "".join(f"<li>{html.escape(m)}</li>" for m in walk.notes())
    info = (
        f"{len(walk.played)} of {len(walk.tracks)} songs have a preview · entry {html.escape(str(walk.entry))} · "
        f"{walk.nb_steps} steps among {walk.nb_candidates} candidates · seed {walk.seed} · "
        f"{html.escape(_settings(walk))}"
    )
    measures = html.escape(describe_measures(walk.measures))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Radio: {html.escape(title)}</title>
<style>{_CSS}</style>
</head>
<body data-state="loading" data-current="-1">
<h1>Radio: {html.escape(title)}</h1>
<p class="meta">{info}</p>
<p class="meta" id="measures">{measures}</p>
<p id="now"></p>
<button id="start" type="button">▶ Start the radio</button>
<audio id="player" controls preload="auto"></audio>
<ol id="tracks">
{chr(10).join(rows)}
</ol>
<ul class="note">{messages}</ul>
<script>{_JS}</script>
</body>
</html>
"""


def write_radio(walk: RadioWalk, m3u8: str | Path, json_path: str | Path, html_path: str | Path) -> None:
    """Write a radio's three files atomically."""
    write_text(m3u8, to_m3u8(walk))
    write_json(json_path, walk.to_dict())
    write_text(html_path, to_html(walk))
