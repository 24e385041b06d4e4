"""The songs of a vocabulary with their metadata: titles, artists, previews, and finding a song by name.

Usage::

    import pandas as pd
    from track2vec.catalog import Catalog, read_metadata

    catalog = Catalog(pd.read_parquet("results/vocab.parquet"), read_metadata("TracksArtists.csv"))
    catalog.find("holy planet")          # songs whose title matches, exact matches first
    i = catalog.resolve("Holy Planet")   # a title, a track id (track_123) or #<index> -> index
    catalog.label(i)                     # "Holy Planet — The Endless Comets"

A song without metadata is still in the catalog: it is shown by its track id and its
artist's id. Titles match case- and accent-insensitively (:func:`track2vec.text.normalize_title`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, Track2VecError
from .text import normalize_title

__all__ = ["METADATA_COLUMNS", "Catalog", "SongNotFoundError", "generator_genres", "read_metadata"]

#: the columns of a TracksArtists.csv-like metadata file (``track_id`` and ``title`` required)
METADATA_COLUMNS = ("track_id", "title", "name", "preview")

#: the columns :meth:`Catalog.find` returns, before ``match``
_FOUND_COLUMNS = ["index", "track_id", "title", "artist", "count", "preview"]


class SongNotFoundError(Track2VecError, LookupError):
    """No song of the vocabulary matches a title or id given by the user."""


def _read_table(path: Path, fix: str) -> tuple[pd.DataFrame, list[str]]:
    """The metadata file as strings, and a description of each row skipped for a wrong number of fields."""
    bad_lines: list[str] = []
    opts = dict(dtype=str, keep_default_na=False, encoding="utf-8", encoding_errors="replace")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path).astype(str), bad_lines
        try:
            return pd.read_csv(path, **opts), bad_lines
        except pd.errors.ParserError:  # rows with a wrong number of fields: skip and report them
            df = pd.read_csv(
                path, engine="python", on_bad_lines=lambda fields: bad_lines.append(",".join(fields)), **opts
            )
            return df, bad_lines
    except Exception as exc:  # noqa: BLE001 - any reader failure is reported the same way
        raise DataError(path, f"cannot be read as a metadata table ({exc})", fix) from exc


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
    df, bad_lines = _read_table(path, fix)
    missing = [c for c in ("track_id", "title") if c not in df.columns]
    if missing:
        raise DataError(path, f"has no column {', '.join(missing)} (columns: {', '.join(map(str, df.columns))})", fix)
    no_id = df["track_id"].astype(str).str.strip() == ""
    if no_id.any():
        bad_lines += [f"row {i + 2} has no track_id" for i in np.flatnonzero(no_id.to_numpy())]
        df = df[~no_id]
    if bad_lines:
        warnings.warn(
            f"{path}: skipped {len(bad_lines)} bad row(s) (e.g. {'; '.join(bad_lines[:3])}); "
            "fix them to see those songs' titles",
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


class Catalog:
    """The songs of a vocabulary, joined with their metadata.

    Parameters
    ----------
    vocab : pandas.DataFrame
        The vocabulary table (``results/vocab.parquet``): ``index``, ``track_id``,
        ``count``, ``artist_id``; row i is song i.
    metadata : pandas.DataFrame, optional
        Titles, artist names and preview URLs (see :func:`read_metadata`), joined on
        ``track_id`` (bare numeric ids match ``track_<id>``). Songs without metadata
        are shown by id.

    Attributes
    ----------
    songs : pandas.DataFrame
        One row per song, row i is song i: ``index``, ``track_id``, ``count``,
        ``artist_id``, ``title``, ``artist``, ``preview`` (empty strings where
        unknown; ``artist`` falls back to ``artist_id``) and ``has_metadata``.

    Examples
    --------
    >>> vocab = pd.DataFrame({"index": [0, 1], "track_id": ["track_1", "track_2"],
    ...                       "count": [3, 2], "artist_id": ["artist_1", "artist_2"]})
    >>> meta = pd.DataFrame({"track_id": ["track_1"], "title": ["Café"], "name": ["Léa"], "preview": [""]})
    >>> catalog = Catalog(vocab, meta)
    >>> catalog.resolve("CAFE"), catalog.label(0), catalog.label(1)
    (0, 'Café — Léa', 'track_2 — artist_2')
    """

    def __init__(self, vocab: pd.DataFrame, metadata: pd.DataFrame | None = None):
        self.songs = _join_metadata(vocab, metadata)
        self._by_id = {t: i for i, t in enumerate(self.songs["track_id"])}
        self._norm_titles = None
        self._artist_codes = None

    @property
    def size(self) -> int:
        """Number of songs in the vocabulary."""
        return len(self.songs)

    @property
    def artist_codes(self) -> np.ndarray:
        """The artist of every song as a number (int64, shape (V,)): songs with the same
        ``artist_id`` share one, and -1 marks an unknown artist (an empty ``artist_id``)."""
        if self._artist_codes is None:
            ids = self.songs["artist_id"].to_numpy(dtype=object)
            codes, _ = pd.factorize(ids)
            self._artist_codes = np.where(ids == "", -1, codes).astype(np.int64)
        return self._artist_codes

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
        if not q:
            return self.songs.iloc[:0][_FOUND_COLUMNS].assign(match=pd.Series(dtype=str))
        titles = self._norm_titles
        exact = np.flatnonzero(titles == q)
        partial = np.flatnonzero(np.array([q in t and t != q for t in titles], dtype=bool))
        idx = np.concatenate([exact, partial]).astype(np.int64)
        out = self.songs.iloc[idx][_FOUND_COLUMNS].copy()
        out["match"] = ["exact"] * len(exact) + ["partial"] * len(partial)
        out = out.reset_index(drop=True)
        return out if limit is None else out.head(limit)

    def resolve(self, song: str | int) -> int:
        """The vocabulary index of a song given as a track id (``track_123``), ``#<index>``, or a title.

        A title is resolved as :meth:`find` does; the first match (exact before
        partial, then the most played) wins. An int is a vocabulary index.

        Raises
        ------
        SongNotFoundError
            Nothing matches, or the index is out of range.
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


def generator_genres(track_ids, generator: str | os.PathLike) -> np.ndarray:
    """The genre of each song of the built-in dataset, from its generator's parameters.

    Parameters
    ----------
    track_ids : sequence of str
        ``track_<id>`` tokens (the vocabulary's ``track_id`` column).
    generator : str or os.PathLike
        ``data/synthetic_model.npz`` (:func:`track2vec.synthetic.write`).

    Returns
    -------
    numpy.ndarray of int64
        One genre per song; -1 for a song the generator does not know.
    """
    from .synthetic import load_model, token_to_index

    model = load_model(generator)
    lookup = token_to_index(model)
    genre = np.asarray(model["artist_genre"], dtype=np.int64)[np.asarray(model["track_artist"])]
    return np.array([genre[lookup[t]] if t in lookup else -1 for t in map(str, track_ids)], dtype=np.int64)
