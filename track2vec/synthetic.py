"""Deterministic synthetic playlists in the layout of Deezer's ``music_2.npy``.

The real Deezer playlist file cannot be downloaded by the pipeline, so by default
it works on a synthetic stand-in generated here. The generator mimics the real
file's size and statistics (``full`` preset: 100,000 playlists, 24.1 songs per
playlist on average, about 338,500 distinct tracks of which about 123,000 occur
more than once, heavy-tailed popularity) and plants structure an embedding can
learn: genres, artists and "albums" (each artist's ordered track list).

Generative process
------------------
The catalog holds ``T`` tracks sorted by genre, then artist, then album order, so
that every genre and every artist is a contiguous range of catalog indices. Each
track ``j`` has a popularity weight ``w[j] > 0``: its artist's popularity (a
Zipf-Mandelbrot law of a random artist rank, above a floor: the many obscure
artists whose tracks make the singletons of the real file) times a Zipf factor
of the track's popularity rank within its artist. ``w`` sums to 1.

A playlist has a length ``L`` (3 + a rounded log-normal) and is a first-order
Markov chain over tracks:

* the first track: a genre ``g`` is drawn with probability ``genre_weight[g]``,
  then a track of ``g`` with probability proportional to ``w``;
* each next track, given the current track ``c`` of artist ``a`` and genre ``g``,
  is drawn from the transition kernel ``K(c, .)``, a mixture of

  - with probability ``p_seq``: ``successor[c]``, the next track on the album
    (the artist's next track, cyclically);
  - with probability ``p_artist``: a track of ``a`` other than ``c``, by ``w``;
  - with probability ``p_genre``: a track of ``g`` other than ``c``, by ``w``;
  - with probability ``p_random``: any track other than ``c``, by ``w``.

  If the artist has a single track, ``p_seq`` and ``p_artist`` go to the genre
  component; if the genre has a single track too, everything goes to the random
  component. ``K(c, c) = 0``: a song never follows itself.
* no-repeat rule: a candidate that already occurs earlier in the playlist is
  redrawn from ``K(c, .)``, up to ``max_tries`` draws in all; the last draw is
  kept whatever it is (so a playlist may, rarely, contain a song twice, as real
  playlists do).

Everything needed to evaluate this exactly is in :attr:`SyntheticDataset.model`;
:func:`next_song_probabilities` returns ``K(c, .)`` or, given the playlist so
far, the exact conditional distribution including the no-repeat rule.

Calibration
-----------
The ``full`` preset's constants reproduce the real file's counts of distinct and repeated
tracks (docs/evaluation.md, "The built-in dataset"). With ``n_playlists`` overridden, the
number of artists grows as ``(n_playlists / base_playlists) ** catalog_exponent``
(Heaps-like growth).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "PRESETS",
    "SyntheticConfig",
    "SyntheticDataset",
    "generate",
    "write",
    "next_song_probabilities",
    "start_probabilities",
    "track_tokens",
    "mixture_weights",
    "token_to_index",
    "load_model",
    "main",
]

MODEL_VERSION = 1
PREVIEW_URL = "https://cdn-preview.track2vec.invalid/stream/{id}.mp3"


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of the generator (see the module docstring for the process).

    Attributes
    ----------
    n_playlists : int
        Number of playlists.
    n_genres : int
        Number of genres.
    n_artists : int
        Number of artists in the catalog at ``n_playlists == base_playlists``.
    mean_tracks_per_artist : float
        Mean number of catalog tracks per artist (1 + negative binomial).
    artist_zipf : float
        Zipf exponent of artist popularity against the artist's (random) rank.
    artist_floor_rank : float
        Artist popularity is ``rank ** -artist_zipf + artist_floor_rank ** -artist_zipf``:
        beyond this rank (scaled with the catalog) artists are all about as obscure.
    artist_offset : float
        Offset added to the rank in the power law (Zipf-Mandelbrot), which
        flattens the head: the top artists are not overwhelmingly popular.
    track_zipf : float
        Zipf exponent of a track's weight against its popularity rank within
        its artist.
    genre_zipf : float
        Zipf exponent of genre popularity.
    p_seq, p_artist, p_genre, p_random : float
        Mixture weights of the transition kernel (they sum to 1).
    max_tries : int
        Draws allowed to avoid a song already in the playlist.
    mean_length : float
        Mean playlist length.
    min_length : int
        Shortest playlist.
    max_length : int
        Longest playlist (log-normal lengths are clipped there).
    length_sigma : float
        Log-normal shape of ``length - min_length``.
    base_playlists : int
        Number of playlists the catalog size ``n_artists`` is calibrated for.
    catalog_exponent : float
        The number of artists scales as ``(n_playlists / base_playlists) ** catalog_exponent``.
    """

    n_playlists: int
    n_genres: int
    n_artists: int
    mean_tracks_per_artist: float
    artist_zipf: float
    artist_floor_rank: float
    artist_offset: float
    track_zipf: float
    genre_zipf: float
    p_seq: float
    p_artist: float
    p_genre: float
    p_random: float
    max_tries: int
    mean_length: float
    min_length: int
    max_length: int
    length_sigma: float
    base_playlists: int
    catalog_exponent: float

    def scaled_artists(self) -> int:
        """Number of artists for :attr:`n_playlists` (catalog scaling)."""
        ratio = self.n_playlists / self.base_playlists
        return max(self.n_genres * 2, int(round(self.n_artists * ratio**self.catalog_exponent)))


# Calibrated by generating the full preset (seed 0..2) with different n_artists /
# artist_alpha / track_zipf and measuring distinct tracks and tracks occurring more
# than once against the real file (338.5k distinct, 123k repeated, 2.41M tokens).
PRESETS: dict[str, SyntheticConfig] = {
    "full": SyntheticConfig(
        n_playlists=100_000,
        n_genres=30,
        n_artists=250_000,
        mean_tracks_per_artist=6.0,
        artist_zipf=1.25,
        artist_floor_rank=200_000.0,
        artist_offset=30.0,
        track_zipf=1.0,
        genre_zipf=1.0,
        p_seq=0.25,
        p_artist=0.25,
        p_genre=0.40,
        p_random=0.10,
        max_tries=4,
        mean_length=24.1,
        min_length=3,
        max_length=600,
        length_sigma=0.9,
        base_playlists=100_000,
        catalog_exponent=0.7,
    ),
}
PRESETS["tiny"] = replace(
    PRESETS["full"],
    n_playlists=2_000,
    n_genres=12,
    n_artists=600,
    mean_tracks_per_artist=6.0,
    artist_floor_rank=1_000.0,
    artist_offset=5.0,
    base_playlists=2_000,
)


@dataclass
class SyntheticDataset:
    """A generated dataset.

    Attributes
    ----------
    playlists : numpy.ndarray
        Object array of shape ``(n_playlists,)``; each element is a list of str
        alternating ``"track_<id>"`` and ``"artist_<id>"`` tokens.
    metadata : pandas.DataFrame
        Columns ``track_id`` (the ``track_<id>`` token), ``title``, ``name``
        (artist name) and ``preview`` (mp3 URL or empty string), for part of the
        tracks that occur in ``playlists``.
    model : dict of str to numpy.ndarray
        The generator's parameters (see :func:`next_song_probabilities`).
    preset : str
        The preset used.
    seed : int
        The seed used.
    """

    playlists: np.ndarray
    metadata: pd.DataFrame
    model: dict[str, np.ndarray]
    preset: str
    seed: int


# --------------------------------------------------------------------------------------
# Catalog
# --------------------------------------------------------------------------------------


def _config(preset: str, n_playlists: int | None) -> SyntheticConfig:
    if not isinstance(preset, str) or preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: choose one of {', '.join(sorted(PRESETS))}")
    cfg = PRESETS[preset]
    if n_playlists is not None:
        if isinstance(n_playlists, bool) or not isinstance(n_playlists, (int, np.integer)):
            raise ValueError(f"n_playlists must be a positive integer, got {n_playlists!r}")
        if n_playlists < 1:
            raise ValueError(f"n_playlists must be at least 1, got {n_playlists}")
        cfg = replace(cfg, n_playlists=int(n_playlists))
    return cfg


def _distinct_ids(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """``n`` distinct random-looking integers in ``[low, high)``, in random order."""
    ids = np.empty(0, dtype=np.int64)
    while ids.size < n:
        draw = rng.integers(low, high, size=int((n - ids.size) * 1.05) + 16, dtype=np.int64)
        ids = np.unique(np.concatenate([ids, draw]))
    return rng.permutation(ids)[:n]


def _build_catalog(cfg: SyntheticConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    G = cfg.n_genres
    A = cfg.scaled_artists()
    genre_weight = 1.0 / np.arange(1, G + 1) ** cfg.genre_zipf
    genre_weight /= genre_weight.sum()
    # Popular genres hold more artists, less than in proportion to their popularity.
    artist_genre = np.sort(rng.choice(G, size=A, p=genre_weight**0.5 / (genre_weight**0.5).sum()))
    # Make sure every genre has at least one artist.
    artist_genre[:G] = np.arange(G)
    artist_genre = np.sort(artist_genre).astype(np.int16)
    # Artist popularity: a power law of the artist's (random) popularity rank above a
    # floor: the floor is the long tail of obscure artists, whose tracks are mostly
    # played once in the whole data set (the singletons of the real file).
    r = 1.0 + rng.permutation(A)
    floor_rank = max(1.0, cfg.artist_floor_rank * A / cfg.n_artists)
    r0 = cfg.artist_offset
    artist_pop = (r + r0) ** -cfg.artist_zipf + (floor_rank + r0) ** -cfg.artist_zipf
    n_tracks = 1 + rng.negative_binomial(1.5, 1.5 / (1.5 + cfg.mean_tracks_per_artist - 1), size=A)
    # More popular artists tend to have longer catalogs.
    n_tracks = np.minimum(n_tracks + np.maximum(np.log(floor_rank / r) * 0.5, 0).astype(np.int64), 400)
    artist_start = np.zeros(A + 1, dtype=np.int64)
    np.cumsum(n_tracks, out=artist_start[1:])
    T = int(artist_start[-1])
    track_artist = np.repeat(np.arange(A, dtype=np.int32), n_tracks)
    pos = np.arange(T, dtype=np.int64) - artist_start[track_artist]  # album position
    # Each track's popularity rank within its artist: a random permutation of positions
    # (hits are anywhere on the album), drawn for all artists at once.
    keys = track_artist.astype(np.float64) + rng.random(T)
    order = np.argsort(keys, kind="stable")  # grouped by artist, shuffled inside
    rank = np.empty(T, dtype=np.int64)
    rank[order] = pos
    del keys, order, pos
    weight = artist_pop[track_artist] / (1.0 + rank) ** cfg.track_zipf
    del rank
    weight /= weight.sum()
    successor = np.arange(T, dtype=np.int64) + 1
    last = artist_start[1:] - 1
    successor[last] = artist_start[:-1]  # cyclic; self for single-track artists
    genre_start = np.searchsorted(artist_genre, np.arange(G + 1)).astype(np.int64)
    genre_start = artist_start[genre_start]
    return {
        "version": np.array(MODEL_VERSION),
        "track_ids": _distinct_ids(rng, T, 100_000, 2_500_000_000),
        "artist_ids": _distinct_ids(rng, A, 1, 200_000_000),
        "track_artist": track_artist,
        "artist_genre": artist_genre,
        "artist_start": artist_start,
        "genre_start": genre_start,
        "genre_weight": genre_weight,
        "track_weight": weight,
        "successor": successor.astype(np.int32 if T < 2**31 else np.int64),
        "mixture": np.array([cfg.p_seq, cfg.p_artist, cfg.p_genre, cfg.p_random]),
        "max_tries": np.array(cfg.max_tries),
    }


# --------------------------------------------------------------------------------------
# Transition kernel
# --------------------------------------------------------------------------------------


def _ranges(model: Mapping[str, np.ndarray], cur: np.ndarray):
    """Catalog ranges ``[lo, hi)`` of the artist and genre of each track in ``cur``."""
    artist = model["track_artist"][cur]
    a_lo = model["artist_start"][artist]
    a_hi = model["artist_start"][artist + 1]
    genre = model["artist_genre"][artist].astype(np.int64)
    g_lo = model["genre_start"][genre]
    g_hi = model["genre_start"][genre + 1]
    return a_lo, a_hi, g_lo, g_hi


def mixture_weights(model: Mapping[str, np.ndarray], cur: np.ndarray) -> np.ndarray:
    """Effective mixture weights ``(len(cur), 4)`` (seq, artist, genre, random) per track."""
    a_lo, a_hi, g_lo, g_hi = _ranges(model, cur)
    mix = np.broadcast_to(np.asarray(model["mixture"], dtype=np.float64), (len(cur), 4)).copy()
    single_artist = (a_hi - a_lo) == 1
    mix[single_artist, 2] += mix[single_artist, 0] + mix[single_artist, 1]
    mix[single_artist, :2] = 0.0
    single_genre = (g_hi - g_lo) == 1
    mix[single_genre, 3] += mix[single_genre, :3].sum(axis=1)
    mix[single_genre, :3] = 0.0
    return mix


def next_song_probabilities(
    model: Mapping[str, np.ndarray],
    track_index: int,
    history: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """The generator's exact distribution of the song after ``track_index``.

    Parameters
    ----------
    model : mapping of str to numpy.ndarray
        :attr:`SyntheticDataset.model`, or the ``.npz`` written by :func:`write`
        (``np.load(path)`` or :func:`load_model`).
    track_index : int
        Catalog index of the current song (``0 <= track_index < T``); see
        :func:`token_to_index` to get it from a ``track_<id>`` token.
    history : sequence of int, optional
        Catalog indices of the songs earlier in the playlist (the current song
        may be included or not). If given, the no-repeat rule is applied exactly:
        with ``B`` the kernel's mass on those songs and ``R = max_tries``, a song
        not in the history gets ``K(c, j) * (1 - B**R) / (1 - B)`` and one in the
        history ``K(c, j) * B**(R - 1)``. Without it, the plain Markov kernel
        ``K(c, .)`` is returned (the exact distribution of the second song of a
        playlist; for later songs it ignores the no-repeat rule).

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(T,)`` over catalog indices, summing to 1;
        entry ``track_index`` is 0.
    """
    w = np.asarray(model["track_weight"], dtype=np.float64)
    T = w.size
    c = int(track_index)
    if not 0 <= c < T:
        raise ValueError(f"track_index must be in [0, {T}), got {track_index}")
    cur = np.array([c])
    a_lo, a_hi, g_lo, g_hi = (int(x[0]) for x in _ranges(model, cur))
    p_seq, p_art, p_gen, p_rnd = mixture_weights(model, cur)[0]
    wc = w[c]
    probs = w * (p_rnd / (1.0 - wc))  # w sums to 1
    if p_gen > 0:
        probs[g_lo:g_hi] += w[g_lo:g_hi] * (p_gen / (w[g_lo:g_hi].sum() - wc))
    if p_art > 0:
        probs[a_lo:a_hi] += w[a_lo:a_hi] * (p_art / (w[a_lo:a_hi].sum() - wc))
    probs[c] = 0.0
    if p_seq > 0:
        probs[int(model["successor"][c])] += p_seq
    probs /= probs.sum()  # only rounding: the components are normalised already
    if history is not None:
        hist = np.unique(np.asarray(history, dtype=np.int64))
        if hist.size and (hist.min() < 0 or hist.max() >= T):
            raise ValueError(f"history indices must be in [0, {T})")
        R = int(model["max_tries"])
        B = float(probs[hist].sum())
        in_hist = np.zeros(T, dtype=bool)
        in_hist[hist] = True
        keep = (1.0 - B**R) / (1.0 - B) if B < 1.0 else float(R)
        probs = np.where(in_hist, probs * B ** (R - 1), probs * keep)
        probs /= probs.sum()
    return probs


def start_probabilities(model: Mapping[str, np.ndarray]) -> np.ndarray:
    """Distribution of a playlist's first song over catalog indices (sums to 1)."""
    w = np.asarray(model["track_weight"], dtype=np.float64)
    gs = np.asarray(model["genre_start"])
    gw = np.asarray(model["genre_weight"], dtype=np.float64)
    genre_mass = np.add.reduceat(w, gs[:-1])
    per_track = np.repeat(gw / genre_mass, np.diff(gs))
    return w * per_track


def track_tokens(model: Mapping[str, np.ndarray]) -> np.ndarray:
    """``track_<id>`` token of every catalog index (object array of str)."""
    return np.array([f"track_{i}" for i in np.asarray(model["track_ids"]).tolist()], dtype=object)


def token_to_index(model: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Map ``track_<id>`` tokens to catalog indices."""
    return {f"track_{i}": k for k, i in enumerate(np.asarray(model["track_ids"]).tolist())}


def load_model(path: str | Path) -> dict[str, np.ndarray]:
    """Load a model written by :func:`write` into a dict of arrays.

    Raises
    ------
    DataError
        The file was written by a generator of another :data:`MODEL_VERSION`.
    """
    from .errors import DataError

    with np.load(path, allow_pickle=False) as npz:
        model = {k: npz[k] for k in npz.files}
    version = int(model["version"]) if "version" in model else None
    if version != MODEL_VERSION:
        raise DataError(
            path,
            f"holds a generator model of version {version}, but this track2vec reads version {MODEL_VERSION}",
            "run the synthetic rule again (snakemake --forcerun synthetic)",
        )
    return model


# --------------------------------------------------------------------------------------
# Playlists
# --------------------------------------------------------------------------------------


def _lengths(cfg: SyntheticConfig, rng: np.random.Generator) -> np.ndarray:
    n = cfg.n_playlists
    s = cfg.length_sigma
    excess = cfg.mean_length - cfg.min_length + 0.5  # rounding down loses 0.5 on average
    mu = math.log(excess) - s * s / 2
    lengths = cfg.min_length + np.floor(rng.lognormal(mu, s, size=n)).astype(np.int64)
    return np.minimum(lengths, cfg.max_length)


def _sample_weighted(cwx, lo, hi, cur, u):
    """Draw from catalog range ``[lo, hi)`` by weight, excluding ``cur`` (vectorised).

    ``cwx`` is the cumulative weight with a leading 0, so track ``j`` owns the
    interval ``[cwx[j], cwx[j+1])``; ``cur`` lies inside every range.
    """
    a = cwx[cur]
    wc = cwx[cur + 1] - a
    x = cwx[lo] + u * (cwx[hi] - cwx[lo] - wc)
    x = np.where(x >= a, x + wc, x)
    idx = np.searchsorted(cwx, x, side="right") - 1
    idx = np.clip(idx, lo, hi - 1)
    # Floating-point edge cases only: never return the current track.
    bad = idx == cur
    if bad.any():
        idx[bad] = np.where(idx[bad] + 1 < hi[bad], idx[bad] + 1, idx[bad] - 1)
    return idx


def _draw_next(model, cwx, cur, rng):
    """One draw of the kernel ``K(cur, .)`` for each entry of ``cur``."""
    n = cur.size
    a_lo, a_hi, g_lo, g_hi = _ranges(model, cur)
    mix = mixture_weights(model, cur)
    u = rng.random(n)
    comp = (u[:, None] >= np.cumsum(mix, axis=1)[:, :3]).sum(axis=1)
    lo = np.where(comp == 1, a_lo, np.where(comp == 2, g_lo, 0))
    hi = np.where(comp == 1, a_hi, np.where(comp == 2, g_hi, cwx.size - 1))
    nxt = _sample_weighted(cwx, lo, hi, cur, rng.random(n))
    seq = comp == 0
    nxt[seq] = model["successor"][cur[seq]]
    return nxt


def _walk(
    model: dict[str, np.ndarray], lengths: np.ndarray, rng: np.random.Generator, chunk: int = 16_384
) -> tuple[np.ndarray, np.ndarray]:
    """Catalog indices of all playlists, one after another, and the playlists' offsets."""
    w = model["track_weight"]
    cwx = np.concatenate([[0.0], np.cumsum(w)])
    cwx[-1] = max(cwx[-1], 1.0)
    gs = model["genre_start"]
    gw = model["genre_weight"]
    R = int(model["max_tries"])
    n = lengths.size
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.int32 if w.size < 2**31 else np.int64)
    order = np.argsort(-lengths, kind="stable")  # longest first: active rows are a prefix
    for start in range(0, n, chunk):
        rows = order[start : start + chunk]
        L = lengths[rows]
        m = rows.size
        buf = np.empty((m, int(L[0])), dtype=np.int64)
        genre = np.searchsorted(np.cumsum(gw), rng.random(m) * np.cumsum(gw)[-1], side="right")
        genre = np.minimum(genre, gw.size - 1)
        lo, hi = gs[genre], gs[genre + 1]
        x = cwx[lo] + rng.random(m) * (cwx[hi] - cwx[lo])
        buf[:, 0] = np.clip(np.searchsorted(cwx, x, side="right") - 1, lo, hi - 1)
        for t in range(1, int(L[0])):
            k = int(np.searchsorted(-L, -t, side="left"))  # rows with L > t
            cur = buf[:k, t - 1]
            nxt = _draw_next(model, cwx, cur, rng)
            todo = np.arange(k)
            for _ in range(R - 1):
                rep = (buf[todo, :t] == nxt[todo, None]).any(axis=1)
                todo = todo[rep]
                if todo.size == 0:
                    break
                nxt[todo] = _draw_next(model, cwx, cur[todo], rng)
            buf[:k, t] = nxt
        for i, r in enumerate(rows.tolist()):
            out[offsets[r] : offsets[r + 1]] = buf[i, : L[i]]
    return out, offsets


def _playlists_array(model, flat, offsets, used) -> np.ndarray:
    """Object array of token lists from catalog indices; only ``used`` tracks get strings."""
    T = model["track_weight"].size
    tok = np.empty(T, dtype=object)
    ids = model["track_ids"][used].tolist()
    tok[used] = [f"track_{i}" for i in ids]
    art = model["track_artist"]
    used_artists = np.unique(art[used])
    atok = np.empty(model["artist_ids"].size, dtype=object)
    atok[used_artists] = [f"artist_{i}" for i in model["artist_ids"][used_artists].tolist()]
    n = offsets.size - 1
    playlists = np.empty(n, dtype=object)
    step = 65_536  # playlists per block: bounds the temporary token array
    for b in range(0, n, step):
        lo, hi = int(offsets[b]), int(offsets[min(b + step, n)])
        both = np.empty(2 * (hi - lo), dtype=object)
        both[0::2] = tok[flat[lo:hi]]
        both[1::2] = atok[art[flat[lo:hi]]]
        off2 = (2 * (offsets[b : min(b + step, n) + 1] - lo)).tolist()
        for i in range(len(off2) - 1):
            playlists[b + i] = both[off2[i] : off2[i + 1]].tolist()
        del both
    return playlists


# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------

_ADJ = (
    "Golden Silent Broken Electric Velvet Midnight Crystal Wild Lonely Burning Frozen Sweet "
    "Hollow Neon Distant Gentle Restless Endless Secret Blue Crimson Silver Summer Winter "
    "Faded Bright Dark Little Lost Sacred Savage Simple Strange Tender Wicked Young Open "
    "Hidden Falling Rising Shining Sleepless Purple Paper Glass Stone Honey Cosmic Northern "
    "Southern Runaway Perfect Painted Ordinary Quiet Loud Heavy Empty Holy Magic Modern"
).split()
_NOUN = (
    "Heart Fire River Dream Night Road Sky Light Rain Storm Ocean City Shadow Garden Mirror "
    "Window Highway Morning Echo Thunder Flower Diamond Horizon Island Kingdom Letter Machine "
    "Memory Moon Mountain Paradise Planet Promise Radio Rose Satellite Season Signal Smile "
    "Song Star Sun Tide Train Valley Voice Wave Wind Wing World Youth Angel Ghost Harbor "
    "Lullaby Parade Carousel Daydream Fever Gravity Lantern Meadow Orbit Pulse Ribbon Silence"
).split()
_GERUND = (
    "Dancing Running Falling Waiting Walking Dreaming Burning Drifting Singing Flying "
    "Chasing Hiding Breathing Holding Calling Fading Shaking Leaving Sailing Swimming"
).split()
_PREP = ("in the", "on the", "under the", "through the", "across the", "with the", "for the")
_FR = [
    ("Été", "Brûlant"),
    ("Café", "Noir"),
    ("Cœur", "Léger"),
    ("Rêve", "Doré"),
    ("Nuit", "Étoilée"),
    ("Lumière", "Bleue"),
    ("Soleil", "Levant"),
    ("Fête", "Foraine"),
    ("Île", "Déserte"),
    ("Château", "Fantôme"),
    ("Mélodie", "Perdue"),
    ("Âme", "Sœur"),
    ("Forêt", "Enchantée"),
    ("Fenêtre", "Ouverte"),
    ("Chanson", "Française"),
    ("Rivière", "Gelée"),
    ("Hôtel", "Désiré"),
    ("Pluie", "d'Été"),
    ("Mémoire", "Vive"),
    ("Éclat", "de Verre"),
]
_ES = [
    ("Corazón", "Roto"),
    ("Canción", "del Mar"),
    ("Mañana", "Será"),
    ("Noche", "Mágica"),
    ("Señorita", "Bonita"),
    ("Fiesta", "Tropical"),
    ("Camino", "Perdido"),
    ("Sueño", "Azul"),
    ("Ação", "Final"),
    ("Saudade", "Antiga"),
    ("Verão", "Eterno"),
    ("Coração", "Selvagem"),
]
_SINGLE = (
    "Café Déjà-vu Nostalgia Résumé Über Fiancée Naïve Mañana Sérénade Bohème Cliché Éphémère "
    "Allégresse Tendresse Rêverie Odyssée Aurora Halcyon Solstice Euphoria Serendipity Lagrimas "
    "Schön Sehnsucht Fernweh Ångström Zéphyr Noël Soirée Reverie"
).split()
_SUFFIX = (
    "",
    " (Remix)",
    " (Live)",
    " (Acoustic)",
    " - Radio Edit",
    " (Extended Mix)",
    " (Piano Version)",
    " Pt. 2",
    " (Reprise)",
    " (Demo)",
    " (Remastered)",
)
_FIRST = (
    "Léa Chloé Zoë Renée José Inés Mia Noah Lucas Emma Hugo Manon Jules Camille Louis Inès "
    "Sofia Mateo Lena Jonas Nina Max Clara Elias Ana Diego Maya Theo Amélie Rafael Lucía Élodie "
    "Björn Sven Aïcha Karim Yasmine Omar Naomi Ruby Oscar Felix Iris Luna Leo Eva Marco Giulia"
).split()
_LAST = (
    "Moreau Dubois Lefèvre García Müller Rossi Silva Novak Costa Laurent Fontaine Martínez "
    "Bernard Girard Santos Schmidt Petit Ramírez Ferreira Lindqvist Okafor Nakamura Kowalski "
    "Andersen Marchetti Delacroix Hernández Østergaard Brunet Mercier Leclerc Gómez Weber"
).split()
_BAND_NOUN = (
    "Wolves Lanterns Comets Tigers Pilots Echoes Ravens Strangers Dreamers Satellites Sparrows "
    "Giants Orchids Machines Rebels Saints Shadows Vagabonds Foxes Kites Mariners Outlaws"
).split()


def _title_blocks() -> tuple[int, int, int]:
    """Sizes of the title enumeration's blocks: plain, with a suffix, long titles."""
    base = (
        len(_ADJ) * len(_NOUN)
        + len(_GERUND) * len(_PREP) * len(_NOUN)
        + len(_NOUN) ** 2
        + len(_FR) * 3
        + len(_ES) * 3
        + len(_SINGLE)
    )
    long = len(_GERUND) * len(_PREP) * len(_ADJ) * len(_NOUN)
    return base, base * (len(_SUFFIX) - 1), long


def _title(k: int) -> str:
    """The ``k``-th title of a deterministic enumeration (distinct for distinct ``k``).

    Keys ``[0, base)`` are short titles, the next ``base * (len(_SUFFIX) - 1)`` the
    same with a suffix ("(Remix)", "(Live)", ...), then long titles; beyond that
    the enumeration wraps around.
    """
    base, suffixed, long = _title_blocks()
    k %= base + suffixed + long
    if k >= base + suffixed:
        k -= base + suffixed
        nN, nA, nP = len(_NOUN), len(_ADJ), len(_PREP)
        g, rest = divmod(k, nP * nA * nN)
        p, rest = divmod(rest, nA * nN)
        a, n = divmod(rest, nN)
        return f"{_GERUND[g]} {_PREP[p]} {_ADJ[a]} {_NOUN[n]}"
    suffix = _SUFFIX[k // base]
    k %= base
    nA, nN, nG, nP = len(_ADJ), len(_NOUN), len(_GERUND), len(_PREP)
    sizes = (nA * nN, nG * nP * nN, nN * nN)
    if k < sizes[0]:
        t = f"{_ADJ[k // nN]} {_NOUN[k % nN]}"
    elif (k := k - sizes[0]) < sizes[1]:
        t = f"{_GERUND[k // (nP * nN)]} {_PREP[(k // nN) % nP]} {_NOUN[k % nN]}"
    elif (k := k - sizes[1]) < sizes[2]:
        a, b = divmod(k, nN)
        t = f"{_NOUN[a]} of {_NOUN[b]}" if a != b else f"{_NOUN[a]}"
    else:
        k -= sizes[2]
        if k < len(_FR) * 3:
            a, b = _FR[k // 3]
            t = (f"{a} {b}", f"{a}", f"Mon {a} {b}")[k % 3]
        elif (k := k - len(_FR) * 3) < len(_ES) * 3:
            a, b = _ES[k // 3]
            t = (f"{a} {b}", f"{a}", f"Mi {a}")[k % 3]
        else:
            t = _SINGLE[k - len(_ES) * 3]
    return t + suffix


def _artist_name(k: int) -> str:
    """The ``k``-th artist name of a deterministic enumeration (8 kinds of names)."""
    nF, nL, nA, nB, nN = len(_FIRST), len(_LAST), len(_ADJ), len(_BAND_NOUN), len(_NOUN)
    kind, j = k % 8, k // 8
    if kind <= 2:  # a person, the most common kind
        j = 3 * j + kind
        size, (x, y) = nF * nL, divmod(j % (nF * nL), nL)
        name = f"{_FIRST[x]} {_LAST[y]}"
    elif kind == 3:
        size, (x, y) = nA * nB, divmod(j % (nA * nB), nB)
        name = f"The {_ADJ[x]} {_BAND_NOUN[y]}"
    elif kind == 4:
        size, (x, y) = nL * nF, divmod(j % (nL * nF), nF)
        name = f"{_LAST[x]} & {_FIRST[y]}"
    elif kind == 5:
        size, (x, y) = nF * (nL + 1), divmod(j % (nF * (nL + 1)), nL + 1)
        name = f"DJ {_FIRST[x]}" + ("" if y == nL else f" {_LAST[y]}")
    elif kind == 6:
        size, (x, y) = nA * nN, divmod(j % (nA * nN), nN)
        name = f"{_ADJ[x]} {_NOUN[y]}"
    else:
        size, (x, y) = nF * nL, divmod(j % (nF * nL), nL)
        name = f"{_FIRST[x]} {_LAST[y]} Trio"
    rounds = j // size
    return name if rounds == 0 else f"{name} {_roman(rounds + 1)}"


def _roman(n: int) -> str:
    out = []
    for v, s in (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ):
        while n >= v:
            out.append(s)
            n -= v
    return "".join(out)


def _metadata(model, counts: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Metadata for part of the tracks that occur (popular ones mostly)."""
    used = np.flatnonzero(counts)
    c = counts[used]
    # Popularity rank among occurring tracks (0 = most played); ties by catalog index.
    by_pop = used[np.lexsort((used, -c))]
    rank = np.empty(used.size, dtype=np.int64)
    rank[np.searchsorted(used, by_pop)] = np.arange(used.size)
    # Coverage: 55% of singletons, ~85% of repeated tracks, all of the top 1%.
    p = np.where(c > 1, 0.85, 0.55)
    p[rank < max(1, used.size // 100)] = 1.0
    covered = used[rng.random(used.size) < p]
    covered = covered[np.lexsort((covered, -counts[covered]))]  # by popularity
    n = covered.size
    # Titles: a shuffled enumeration, in popularity order, so popular tracks get
    # distinct titles; ~1% of the others copy the title of another track (like
    # real covers / homonyms).
    base, suffixed, long = _title_blocks()
    order = np.concatenate(
        [rng.permutation(base), base + rng.permutation(suffixed), base + suffixed + rng.permutation(long)]
    )
    keys = order[np.arange(n) % order.size]
    titles = [_title(int(k)) for k in keys]
    protected = min(n, max(50, n // 50))
    if n - protected > 2:
        dup = protected + np.flatnonzero(rng.random(n - protected) < 0.01)
        src = rng.integers(protected, n, size=dup.size)
        for d, s in zip(dup.tolist(), src.tolist()):
            titles[d] = titles[s]
    artists = model["track_artist"][covered]
    uniq_art, inv = np.unique(artists, return_inverse=True)
    name_keys = rng.choice(max(8 * len(_FIRST) * len(_LAST) // 3, 2 * uniq_art.size), size=uniq_art.size, replace=False)
    names = [_artist_name(int(k)) for k in name_keys]
    names = np.array(names, dtype=object)[inv]
    ids = model["track_ids"][covered]
    missing = (rng.random(n) < 0.3).tolist()
    preview = ["" if miss else PREVIEW_URL.format(id=i) for miss, i in zip(missing, ids.tolist())]
    df = pd.DataFrame(
        {
            "track_id": [f"track_{i}" for i in ids.tolist()],
            "title": titles,
            "name": names,
            "preview": preview,
        }
    )
    # The real file is not sorted by popularity: shuffle rows deterministically.
    return df.iloc[rng.permutation(n)].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def generate(preset: str = "full", seed: int = 0, n_playlists: int | None = None) -> SyntheticDataset:
    """Generate a synthetic playlist dataset.

    Parameters
    ----------
    preset : {"full", "tiny"}
        ``full``: 100,000 playlists calibrated on the real Deezer file; ``tiny``:
        2,000 playlists over a small catalog (generates in well under a second).
    seed : int
        Seed of the random generator; the result is a deterministic function of
        ``(preset, seed, n_playlists)``.
    n_playlists : int, optional
        Override the number of playlists; the catalog scales as
        ``(n_playlists / base) ** catalog_exponent``.

    Returns
    -------
    SyntheticDataset

    Raises
    ------
    ValueError
        Unknown preset, ``n_playlists < 1``, or a negative seed.
    """
    cfg = _config(preset, n_playlists)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    root = np.random.SeedSequence([int(seed), 0x7472_6B32])  # "trk2"
    s_cat, s_len, s_walk, s_meta = (np.random.default_rng(s) for s in root.spawn(4))
    model = _build_catalog(cfg, s_cat)
    lengths = _lengths(cfg, s_len)
    flat, offsets = _walk(model, lengths, s_walk)
    counts = np.bincount(flat, minlength=model["track_weight"].size)
    used = np.flatnonzero(counts)
    playlists = _playlists_array(model, flat, offsets, used)
    del flat
    metadata = _metadata(model, counts, s_meta)
    return SyntheticDataset(playlists=playlists, metadata=metadata, model=model, preset=preset, seed=int(seed))


def write(
    dataset: SyntheticDataset, playlists_path: str | Path, metadata_path: str | Path, model_path: str | Path
) -> None:
    """Write a dataset atomically.

    Parameters
    ----------
    dataset : SyntheticDataset
        The output of :func:`generate`.
    playlists_path : str or Path
        ``.npy`` file: ``np.save`` of the object array (load with ``allow_pickle=True``).
    metadata_path : str or Path
        ``.csv`` file (UTF-8, no index) with columns ``track_id, title, name, preview``.
    model_path : str or Path
        ``.npz`` file of the model arrays (no pickles; read with :func:`load_model`).
    """
    from track2vec.atomic import atomic_path, save_npy

    save_npy(playlists_path, dataset.playlists)
    with atomic_path(metadata_path, suffix=".csv") as tmp:
        dataset.metadata.to_csv(tmp, index=False, encoding="utf-8")
    with atomic_path(model_path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **dataset.model)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m track2vec.synthetic --preset tiny --playlists P --metadata M --model Z``."""
    parser = argparse.ArgumentParser(
        prog="python -m track2vec.synthetic",
        description="Generate a deterministic synthetic playlist dataset in the Deezer music_2.npy layout.",
    )
    parser.add_argument(
        "--preset", default="full", choices=sorted(PRESETS), help="size preset (default: full, 100,000 playlists)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--n-playlists", type=int, default=None, help="override the preset's number of playlists")
    parser.add_argument("--playlists", required=True, help="output .npy of playlists")
    parser.add_argument("--metadata", required=True, help="output .csv of track metadata")
    parser.add_argument("--model", required=True, help="output .npz of the generator's parameters")
    args = parser.parse_args(argv)
    try:
        ds = generate(args.preset, seed=args.seed, n_playlists=args.n_playlists)
    except ValueError as exc:
        parser.error(str(exc))
    write(ds, args.playlists, args.metadata, args.model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
