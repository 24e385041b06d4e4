"""Reading playlists in the supported layouts, and the pipeline's parquet tables.

Three input layouts are read into one in-memory form, :class:`Playlists`:

* **Deezer** (``music_2.npy``): a .npy object array, each playlist a list of
  tokens alternating ``track_<id>``, ``artist_<id>``.
* **paired** (the other datasets of Caselles-Dupré et al.): a .npy object array
  whose tokens alternate *item, side information* (for example ``"85116",
  "useless"``). Detected as the paper's code does: the first token does not
  start with ``track``. Items are the tokens at even positions.
* **long table** (.csv or .parquet): columns ``playlist_id``, ``position``,
  ``track_id`` and optionally ``artist_id``. This layout needs no pickle and is
  the safe choice for files from untrusted sources.

Loading a .npy object array needs ``allow_pickle=True``, which can run code
embedded in a malicious file: only load .npy files you trust.
"""
from __future__ import annotations

import gc
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .atomic import atomic_path
from .errors import DataError

__all__ = [
    "Playlists",
    "read_playlists",
    "read_npy",
    "read_long_table",
    "write_playlists",
    "load_playlists",
    "write_sequences",
    "read_sequences",
    "write_table",
    "source_of",
]

_FIX_FORMAT = (
    "expected a .npy object array of playlists (lists of str tokens), or a .csv/.parquet "
    "long table with columns playlist_id, position, track_id[, artist_id]"
)


@dataclass
class Playlists:
    """Playlists as flat arrays (CSR layout).

    Attributes
    ----------
    tracks : pyarrow.StringArray
        All track tokens, playlist after playlist.
    artists : pyarrow.StringArray
        The artist token of each track (null where unknown), aligned with ``tracks``.
    offsets : numpy.ndarray of int64, shape (n_playlists + 1,)
        Playlist ``i`` is ``tracks[offsets[i]:offsets[i + 1]]``.
    layout : str
        ``"deezer"``, ``"paired"`` or ``"table"``.
    """

    tracks: pa.Array
    artists: pa.Array
    offsets: np.ndarray
    layout: str
    #: optional (codes, dictionary) of ``tracks`` (codes index the dictionary; it may hold
    #: values that are not in ``tracks``), known by a reader that hashed the tokens already
    track_codes: tuple[np.ndarray, pa.Array] | None = field(default=None, repr=False, compare=False)

    @property
    def n_playlists(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def to_lists(self) -> list[list[str]]:
        """The playlists as Python lists of track tokens (for small data and tests)."""
        t = self.tracks.to_pylist()
        return [t[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:])]


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise DataError(
            path,
            "playlists file not found",
            "set `playlists:` in config.yaml (or --config playlists=PATH) to an existing "
            ".npy, .csv or .parquet file, or to `synthetic` for the built-in dataset",
        )
    if path.is_dir():
        raise DataError(path, "is a folder, not a playlists file", _FIX_FORMAT)


def read_playlists(path: str | os.PathLike) -> Playlists:
    """Read playlists from a .npy, .csv or .parquet file, choosing the reader by suffix.

    Parameters
    ----------
    path : str or os.PathLike
        The playlists file.

    Returns
    -------
    Playlists

    Raises
    ------
    DataError
        The file is missing, unreadable or malformed; the message names the file,
        what is wrong and how to fix it.
    """
    path = Path(path)
    _check_exists(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet", ".pq", ".tsv"):
        return read_long_table(path)
    return read_npy(path)


def read_npy(path: str | os.PathLike) -> Playlists:
    """Read a .npy object array of playlists (Deezer or paired layout).

    Parameters
    ----------
    path : str or os.PathLike
        A file written by ``numpy.save`` of a 1-D object array whose elements are
        lists (or tuples / arrays) of str tokens.

    Returns
    -------
    Playlists
        Empty playlists (no track token) are kept as empty rows.

    Raises
    ------
    DataError
        See :func:`read_playlists`.
    """
    path = Path(path)
    _check_exists(path)
    gc_was_enabled = gc.isenabled()
    gc.disable()   # unpickling creates millions of objects: the cyclic collector only slows it down
    try:
        data = np.load(path, allow_pickle=True)
    except Exception as exc:  # noqa: BLE001 - any failure means "not a readable .npy"
        raise DataError(path, f"cannot be read as a .npy file ({type(exc).__name__}: {exc})", _FIX_FORMAT) from exc
    finally:
        if gc_was_enabled:
            gc.enable()
    if not isinstance(data, np.ndarray):
        raise DataError(path, f"holds a {type(data).__name__}, not a numpy array", _FIX_FORMAT)
    if data.dtype != object:
        raise DataError(path, f"holds an array of dtype {data.dtype}, not an object array of playlists", _FIX_FORMAT)
    if data.ndim != 1:
        raise DataError(path, f"holds a {data.ndim}-D array; expected a 1-D array of playlists", _FIX_FORMAT)
    if len(data) == 0:
        raise DataError(path, "holds no playlists (empty array)", _FIX_FORMAT)
    # no Python loop per playlist or per token: the checks run on the distinct types / tokens
    if not set(map(type, data)) <= _PLAYLIST_TYPES:
        i = next(i for i, p in enumerate(data) if not isinstance(p, (list, tuple, np.ndarray)))
        raise DataError(path, f"playlist {i} is a {type(data[i]).__name__}, not a list of str tokens", _FIX_FORMAT)
    lengths = np.fromiter(map(len, data), dtype=np.int64, count=len(data))
    offsets = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] == 0:
        raise DataError(path, "all playlists are empty", _FIX_FORMAT)
    flat = list(itertools.chain.from_iterable(data))
    del data
    try:
        codes, uniques = _factorize_tokens(flat)   # a None / NaN token gets code -1
        dictionary = pa.array(uniques, type=pa.string())
        ok = not (codes < 0).any()
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):   # TypeError: an unhashable token
        ok = False
    if not ok:
        bad = next(j for j, t in enumerate(flat) if not isinstance(t, str))
        i = int(np.searchsorted(offsets, bad, side="right")) - 1
        raise DataError(
            path,
            f"playlist {i} holds a {type(flat[bad]).__name__} token ({flat[bad]!r}); tokens must be str",
            _FIX_FORMAT,
        )
    first = flat[0]
    del flat
    tokens = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), dictionary)
    if first.startswith("track"):
        return _split_deezer(path, tokens, offsets)
    return _split_paired(tokens, offsets, path)


def _factorize_tokens(flat: list) -> tuple[np.ndarray, np.ndarray]:
    """Codes (order of first appearance) and distinct values of a list of tokens.

    An unpickled array shares one str object between the repeats of a token (pickle's
    memo), so the tokens are first grouped by object identity (integer hashing), and
    only one object per group is hashed by value; equal values held by distinct
    objects are merged there, so the result is the value factorisation in any case.
    """
    ids = np.fromiter(map(id, flat), dtype=np.int64, count=len(flat))
    by_id, _ = pd.factorize(ids)
    # codes come in order of first appearance: a group starts where the running maximum grows
    new = np.ones(len(by_id), dtype=bool)
    new[1:] = by_id[1:] > np.maximum.accumulate(by_id)[:-1]
    reps = np.fromiter((flat[i] for i in np.flatnonzero(new)), dtype=object, count=int(new.sum()))
    by_value, uniques = pd.factorize(reps)
    return by_value[by_id], np.asarray(uniques, dtype=object)


def _dict_parts(tokens: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(dictionary, codes) of a token array, dictionary-encoding it if it is not already."""
    if not pa.types.is_dictionary(tokens.type):
        tokens = pc.dictionary_encode(tokens)
    return tokens.dictionary, tokens.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def _split_deezer(path: Path, tokens: pa.Array, offsets: np.ndarray) -> Playlists:
    dictionary, codes = _dict_parts(tokens)
    # prefix tests on the distinct tokens only, spread to every token by its code
    is_track = pc.starts_with(dictionary, "track_").to_numpy(zero_copy_only=False)[codes]
    if not is_track.any():
        raise DataError(path, "holds no `track_<id>` tokens", "each playlist must list `track_<id>` tokens (each optionally followed by `artist_<id>`)")
    is_artist = pc.starts_with(dictionary, "artist_").to_numpy(zero_copy_only=False)[codes]
    n = len(codes)
    pos = np.flatnonzero(is_track)
    nxt = np.minimum(pos + 1, n - 1)
    # the artist of a track is the next token when it is an artist token of the same playlist
    pl_of_pos = np.searchsorted(offsets, pos, side="right") - 1
    has_artist = (pos + 1 < offsets[pl_of_pos + 1]) & is_artist[nxt]
    track_codes = codes[pos]
    tracks = dictionary.take(pa.array(track_codes))
    artists = dictionary.take(pa.array(codes[nxt], mask=~has_artist))
    counts = np.bincount(pl_of_pos, minlength=len(offsets) - 1)
    new_offsets = np.zeros_like(offsets)
    np.cumsum(counts, out=new_offsets[1:])
    return Playlists(tracks, artists, new_offsets, "deezer", (track_codes, dictionary))


def _split_paired(tokens: pa.Array, offsets: np.ndarray, path: Path | None = None) -> Playlists:
    dictionary, codes = _dict_parts(tokens)
    lengths = np.diff(offsets)
    local = np.arange(len(codes), dtype=np.int64) - np.repeat(offsets[:-1], lengths)
    keep = local % 2 == 0
    track_codes = codes[keep]
    tracks = dictionary.take(pa.array(track_codes))
    if path is not None and pc.all(pc.starts_with(tracks, "artist_")).as_py():
        raise DataError(path, "holds no track tokens (only `artist_<id>` tokens)", "each playlist must list `track_<id>` tokens, or items in the paired layout")
    new_offsets = np.zeros_like(offsets)
    np.cumsum((lengths + 1) // 2, out=new_offsets[1:])
    return Playlists(tracks, pa.nulls(len(tracks), type=pa.string()), new_offsets, "paired", (track_codes, dictionary))


_PLAYLIST_TYPES = {list, tuple, np.ndarray}

_TABLE_COLUMNS = ("playlist_id", "position", "track_id")


def read_long_table(path: str | os.PathLike) -> Playlists:
    """Read a long table (.csv or .parquet) of playlist entries.

    Parameters
    ----------
    path : str or os.PathLike
        A table with columns ``playlist_id``, ``position``, ``track_id`` and
        optionally ``artist_id``. Rows are ordered by ``position`` within each
        playlist; playlists are ordered by ``playlist_id``.

    Returns
    -------
    Playlists

    Raises
    ------
    DataError
        Missing columns, empty table, null values or non-numeric positions.
    """
    path = Path(path)
    _check_exists(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            sep = "\t" if path.suffix.lower() == ".tsv" else ","
            df = pd.read_csv(path, sep=sep, dtype={"playlist_id": str, "track_id": str, "artist_id": str}, keep_default_na=False, na_values=[""])
    except Exception as exc:  # noqa: BLE001
        raise DataError(path, f"cannot be read as a table ({type(exc).__name__}: {exc})", _FIX_FORMAT) from exc
    missing = [c for c in _TABLE_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(path, f"lacks column(s) {', '.join(missing)} (has {', '.join(map(str, df.columns))})", _FIX_FORMAT)
    if len(df) == 0:
        raise DataError(path, "has no rows", _FIX_FORMAT)
    for col in _TABLE_COLUMNS:
        nulls = df[col].isna()
        if nulls.any():
            row = int(np.flatnonzero(nulls.to_numpy())[0])
            raise DataError(path, f"column {col} is empty in row {row + 1} (and {int(nulls.sum()) - 1} other rows)", "fill or drop those rows")
    pos = pd.to_numeric(df["position"], errors="coerce")
    if pos.isna().any():
        row = int(np.flatnonzero(pos.isna().to_numpy())[0])
        raise DataError(path, f"column position is not a number in row {row + 1} ({df['position'].iloc[row]!r})", "positions must be integers")
    df = df.assign(position=pos, playlist_id=df["playlist_id"].astype(str), track_id=df["track_id"].astype(str))
    df = df.sort_values(["playlist_id", "position"], kind="stable")
    codes, uniques = pd.factorize(df["playlist_id"], sort=True)
    counts = np.bincount(codes, minlength=len(uniques))
    offsets = np.zeros(len(uniques) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    tracks = pa.array(df["track_id"].to_numpy(dtype=object), type=pa.string())
    if "artist_id" in df.columns:
        art = df["artist_id"].astype(object).where(df["artist_id"].notna(), None)
        artists = pa.array(art.to_numpy(dtype=object), type=pa.string())
    else:
        artists = pa.nulls(len(tracks), type=pa.string())
    return Playlists(tracks, artists, offsets, "table")


# --- pipeline tables ------------------------------------------------------------------


SOURCE_KEY = b"track2vec.source"


def source_of(path: str | os.PathLike) -> str:
    """The user's playlists file a pipeline table was derived from (recorded in its metadata),
    or ``path`` itself when none is recorded."""
    meta = pq.read_schema(path).metadata or {}
    return meta.get(SOURCE_KEY, str(path).encode()).decode()


def write_table(table: pa.Table | pd.DataFrame, path: str | os.PathLike, source: str | None = None) -> None:
    """Write a table to parquet atomically (temporary file, then rename).

    ``source``, the playlists file the table comes from, is kept in the file's metadata
    so that later steps can name it in their error messages.
    """
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    if source is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), SOURCE_KEY: str(source).encode()})
    with atomic_path(path, suffix=".parquet") as tmp:
        pq.write_table(table, tmp)


def write_playlists(playlists: Playlists, path: str | os.PathLike, source: str | None = None) -> None:
    """Write :class:`Playlists` to parquet: one row per playlist, columns
    ``playlist`` (row number), ``tracks`` and ``artists`` (lists of str)."""
    off = pa.array(playlists.offsets, type=pa.int64())
    table = pa.table(
        {
            "playlist": pa.array(np.arange(playlists.n_playlists, dtype=np.int64)),
            "tracks": pa.LargeListArray.from_arrays(off, playlists.tracks),
            "artists": pa.LargeListArray.from_arrays(off, playlists.artists),
        }
    )
    write_table(table, path, source)


def load_playlists(path: str | os.PathLike) -> Playlists:
    """Read the parquet written by :func:`write_playlists`."""
    table = pq.read_table(path)
    offsets, tracks = _list_column(table, "tracks")
    _, artists = _list_column(table, "artists")
    return Playlists(tracks, artists, offsets, "parquet")


def _list_column(table: pa.Table, name: str) -> tuple[np.ndarray, pa.Array]:
    """Offsets (from 0) and flat values of a list column, whatever its chunking."""
    col = table.column(name).combine_chunks()
    if isinstance(col, pa.ChunkedArray):
        col = pa.concat_arrays(col.chunks) if col.num_chunks else pa.array([], type=col.type)
    offsets = np.asarray(col.offsets, dtype=np.int64)
    values = col.values.slice(offsets[0], offsets[-1] - offsets[0])
    return offsets - offsets[0], values


def write_sequences(offsets: np.ndarray, values: np.ndarray, path: str | os.PathLike, ids: np.ndarray | None = None, source: str | None = None) -> None:
    """Write integer sequences (CSR) to parquet: columns ``playlist`` and ``tracks`` (list<int32>)."""
    n = len(offsets) - 1
    ids = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
    table = pa.table(
        {
            "playlist": pa.array(ids),
            "tracks": pa.LargeListArray.from_arrays(
                pa.array(np.asarray(offsets, dtype=np.int64)), pa.array(np.asarray(values, dtype=np.int32))
            ),
        }
    )
    write_table(table, path, source)


def read_sequences(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read integer sequences written by :func:`write_sequences`.

    Returns
    -------
    offsets : numpy.ndarray of int64
    values : numpy.ndarray of int32
    ids : numpy.ndarray of int64
        The ``playlist`` column.
    """
    table = pq.read_table(path)
    offsets, values = _list_column(table, "tracks")
    values = np.asarray(values, dtype=np.int32) if len(values) else np.zeros(0, dtype=np.int32)
    return offsets, values, table.column("playlist").to_numpy()
