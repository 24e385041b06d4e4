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
    "read_vocab",
    "read_pairs",
    "vocab_size",
    "read_json",
]

_FIX_FORMAT = (
    "expected a .npy object array of playlists (lists of str tokens), or a .csv/.parquet "
    "long table with columns playlist_id, position, track_id[, artist_id]"
)


class Playlists:
    """Playlists as flat arrays (CSR layout).

    Parameters
    ----------
    tracks : pyarrow.StringArray or None
        All track tokens, playlist after playlist. ``None`` when ``track_codes`` is
        given: the array is then built from the codes on first use.
    artists : pyarrow.StringArray or None
        The artist token of each track (null where unknown), aligned with ``tracks``.
        ``None``: built from ``artist_codes`` on first use, or all null without them.
    offsets : numpy.ndarray of int64, shape (n_playlists + 1,)
        Playlist ``i`` is ``tracks[offsets[i]:offsets[i + 1]]``.
    layout : str
        ``"deezer"``, ``"paired"``, ``"table"`` or ``"parquet"``.
    track_codes : tuple of (numpy.ndarray of int64, pyarrow.StringArray), optional
        ``(codes, dictionary)`` of ``tracks``, known by a reader that hashed the tokens
        already: ``tracks[j] == dictionary[codes[j]]``. The dictionary may hold values
        that are not in ``tracks`` (artist tokens, for example).
    artist_codes : tuple of (numpy.ndarray of int64, pyarrow.StringArray), optional
        ``(codes, dictionary)`` of ``artists`` in the same way, code -1 where the artist
        is unknown.

    Attributes
    ----------
    tracks, artists, offsets, layout, track_codes, artist_codes
        As above; ``tracks`` and ``artists`` are always arrays (built lazily).
    has_artists : bool
        Whether any track has a known artist.
    n_tokens : int
        Number of track tokens.
    n_playlists : int
    lengths : numpy.ndarray of int64
        Number of tracks of each playlist.

    Notes
    -----
    The .npy reader keeps the tokens dictionary-encoded (a code per token and each
    distinct token once), as the unpickled lists share one str object per token;
    the flat string arrays are only built when something asks for them.
    """

    def __init__(
        self,
        tracks: pa.Array | None,
        artists: pa.Array | None,
        offsets: np.ndarray,
        layout: str,
        track_codes: tuple[np.ndarray, pa.Array] | None = None,
        artist_codes: tuple[np.ndarray, pa.Array] | None = None,
    ) -> None:
        if tracks is None and track_codes is None:
            raise ValueError("Playlists needs tracks or track_codes")
        self._tracks = tracks
        self._artists = artists
        self.offsets = offsets
        self.layout = layout
        self.track_codes = track_codes
        self.artist_codes = artist_codes

    @property
    def tracks(self) -> pa.Array:
        if self._tracks is None:
            codes, dictionary = self.track_codes
            self._tracks = dictionary.take(pa.array(codes))
        return self._tracks

    @property
    def artists(self) -> pa.Array:
        if self._artists is None:
            if self.artist_codes is None:
                self._artists = pa.nulls(self.n_tokens, type=pa.string())
            else:
                codes, dictionary = self.artist_codes
                self._artists = dictionary.take(pa.array(codes, mask=codes < 0))
        return self._artists

    @property
    def has_artists(self) -> bool:
        """Whether any track has a known artist (without building ``artists``)."""
        if self._artists is None and self.artist_codes is None:
            return False
        if self.artist_codes is not None:
            return bool((self.artist_codes[0] >= 0).any())
        return self._artists.null_count < len(self._artists)

    @property
    def n_tokens(self) -> int:
        """Number of track tokens (all playlists), without building ``tracks``."""
        return int(self.offsets[-1] - self.offsets[0])

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

    def __repr__(self) -> str:
        return f"Playlists(layout={self.layout!r}, n_playlists={self.n_playlists}, n_tokens={self.n_tokens})"


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
    # unpickling and flattening handle millions of objects: the cyclic collector would
    # only walk them again and again (it runs as usual once the read is done)
    gc.disable()
    try:
        return _read_npy(path)
    finally:
        if gc_was_enabled:
            gc.enable()


def _read_npy(path: Path) -> Playlists:
    """:func:`read_npy`, with the cyclic garbage collector off."""
    try:
        data = np.load(path, allow_pickle=True)
    except Exception as exc:  # noqa: BLE001 - any failure means "not a readable .npy"
        raise DataError(path, f"cannot be read as a .npy file ({type(exc).__name__}: {exc})", _FIX_FORMAT) from exc
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
    # every token in one object array (references to the unpickled str objects, no copies)
    flat = np.fromiter(itertools.chain.from_iterable(data), dtype=object, count=int(offsets[-1]))
    del data
    first = flat[0]
    if isinstance(first, str) and not first.startswith("track"):
        # paired layout: only the items need codes; the other tokens need only be str,
        # which one C loop checks (the items are checked as they are encoded)
        items = _paired_items(offsets)
        others = flat[1::2] if isinstance(items, slice) else flat
        if pd.api.types.infer_dtype(others, skipna=False) == "string":
            enc = _encode_tokens(flat, items)
            if enc is not None:
                return _split_paired(enc[0], enc[1], offsets, path)
    enc = _encode_tokens(flat)
    if enc is None:
        bad = next(j for j, t in enumerate(flat) if not isinstance(t, str))
        i = int(np.searchsorted(offsets, bad, side="right")) - 1
        raise DataError(
            path,
            f"playlist {i} holds a {type(flat[bad]).__name__} token ({flat[bad]!r}); tokens must be str",
            _FIX_FORMAT,
        )
    del flat
    codes, dictionary = enc
    if first.startswith("track"):
        return _split_deezer(path, codes, dictionary, offsets)
    return _split_paired(codes[_paired_items(offsets)], dictionary, offsets, path)


def _encode_tokens(flat: np.ndarray, select: slice | np.ndarray | None = None) -> tuple[np.ndarray, pa.Array] | None:
    """(codes, dictionary) of the tokens ``flat[select]``, or None when one of them is not
    a str (None, NaN, a number, an unhashable object...)."""
    try:
        codes, uniques = _factorize_tokens(flat, select)  # a None / NaN token gets code -1
        dictionary = pa.array(uniques, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):  # TypeError: an unhashable token
        return None
    if (codes < 0).any():
        return None
    return codes, dictionary


def _object_ids(objects: np.ndarray) -> np.ndarray:
    """``id()`` of each element of a 1-D contiguous object array, as int64.

    In CPython ``id(x)`` is the object's address, which is what an object array
    stores: read as integers, its buffer gives every id without a Python call per
    element. Falls back to calling ``id`` where that buffer cannot be read so.
    """
    try:
        ids = np.frombuffer(memoryview(objects), dtype=np.intp)
    except (TypeError, ValueError, BufferError):
        ids = None
    if ids is None or len(ids) != len(objects) or (len(ids) and ids[0] != id(objects[0])):
        ids = np.fromiter(map(id, objects), dtype=np.intp, count=len(objects))
    return ids.astype(np.int64, copy=False)


def _factorize_tokens(flat: np.ndarray, select: slice | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Codes (order of first appearance) and distinct values of the tokens ``flat[select]``
    (``flat``: a 1-D contiguous object array; ``select``: None for all, or a slice or
    index array).

    An unpickled array shares one str object between the repeats of a token (pickle's
    memo), so the tokens are first grouped by object identity (integer hashing of
    their ids), and only one object per group is hashed by value; equal values held by
    distinct objects are merged there, so the result is the value factorisation in
    any case. None and NaN get code -1.
    """
    ids = _object_ids(flat)
    if select is None:
        pos = np.arange(len(flat), dtype=np.int64)
    elif isinstance(select, slice):
        ids, pos = ids[select], np.arange(*select.indices(len(flat)), dtype=np.int64)
    else:
        ids, pos = ids[select], np.asarray(select, dtype=np.int64)
    # a small first table: few distinct objects is the common case, and a table sized
    # for every token costs more (fresh memory) than growing one
    by_id, uniq_ids = pd.factorize(ids, size_hint=max(1024, len(ids) // 8))
    # one element of each identity group (codes are in order of first appearance, and
    # so are the groups' representatives: any element of a group stands for it)
    rep_pos = np.empty(len(uniq_ids), dtype=np.int64)
    rep_pos[by_id] = pos
    by_value, uniques = pd.factorize(flat[rep_pos])
    return by_value[by_id], np.asarray(uniques, dtype=object)


def _starts_with(dictionary: pa.Array, prefix: str) -> np.ndarray:
    """Boolean mask of the dictionary values that start with ``prefix``."""
    return pc.starts_with(dictionary, prefix).to_numpy(zero_copy_only=False)


def _split_deezer(path: Path, codes: np.ndarray, dictionary: pa.Array, offsets: np.ndarray) -> Playlists:
    # prefix tests on the distinct tokens only, spread to every token by its code
    kind = np.zeros(len(dictionary), dtype=np.int8)  # 1: track_, 2: artist_, 0: other
    kind[_starts_with(dictionary, "track_")] = 1
    kind[_starts_with(dictionary, "artist_")] = 2
    kinds = kind[codes]
    is_track = kinds == 1
    if not is_track.any():
        raise DataError(
            path,
            "holds no `track_<id>` tokens",
            "each playlist must list `track_<id>` tokens (each optionally followed by `artist_<id>`)",
        )
    if not (offsets % 2).any() and is_track[0::2].all() and (kinds[1::2] == 2).all():
        # the usual file: every playlist alternates track, artist, track, artist...
        return Playlists(
            None, None, offsets // 2, "deezer", (codes[0::2].copy(), dictionary), (codes[1::2].copy(), dictionary)
        )
    # the artist of a track is the next token when it is an artist token of the same playlist
    next_is_artist = np.zeros(len(codes), dtype=bool)
    next_is_artist[:-1] = kinds[1:] == 2
    next_is_artist[offsets[1:][offsets[1:] > offsets[:-1]] - 1] = False  # a playlist's last token
    pos = np.flatnonzero(is_track)
    has_artist = next_is_artist[pos]
    artist_codes = np.where(has_artist, codes[np.minimum(pos + 1, len(codes) - 1)], -1)
    # playlist i keeps the tracks between its offsets: count them with a running sum
    n_before = np.zeros(len(codes) + 1, dtype=np.int64)
    np.cumsum(is_track, out=n_before[1:])
    return Playlists(None, None, n_before[offsets], "deezer", (codes[pos], dictionary), (artist_codes, dictionary))


def _paired_items(offsets: np.ndarray) -> slice | np.ndarray:
    """Positions (among all tokens) of the items of the paired layout: each playlist's
    even positions. A slice when every playlist starts at an even position."""
    if not (offsets[:-1] % 2).any():
        return slice(0, None, 2)
    lengths = np.diff(offsets)
    local = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], lengths)
    return np.flatnonzero(local % 2 == 0)


def _split_paired(
    track_codes: np.ndarray, dictionary: pa.Array, offsets: np.ndarray, path: Path | None = None
) -> Playlists:
    """Playlists of the paired layout from the codes of the items (even positions)."""
    is_artist = _starts_with(dictionary, "artist_")
    if path is not None and is_artist.any() and is_artist[track_codes].all():
        raise DataError(
            path,
            "holds no track tokens (only `artist_<id>` tokens)",
            "each playlist must list `track_<id>` tokens, or items in the paired layout",
        )
    lengths = np.diff(offsets)
    new_offsets = np.zeros_like(offsets)
    np.cumsum((lengths + 1) // 2, out=new_offsets[1:])
    return Playlists(None, None, new_offsets, "paired", (np.ascontiguousarray(track_codes), dictionary))


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
            df = pd.read_csv(
                path,
                sep=sep,
                dtype={"playlist_id": str, "track_id": str, "artist_id": str},
                keep_default_na=False,
                na_values=[""],
            )
    except Exception as exc:  # noqa: BLE001
        raise DataError(path, f"cannot be read as a table ({type(exc).__name__}: {exc})", _FIX_FORMAT) from exc
    missing = [c for c in _TABLE_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(
            path, f"lacks column(s) {', '.join(missing)} (has {', '.join(map(str, df.columns))})", _FIX_FORMAT
        )
    if len(df) == 0:
        raise DataError(path, "has no rows", _FIX_FORMAT)
    for col in _TABLE_COLUMNS:
        nulls = df[col].isna()
        if nulls.any():
            row = int(np.flatnonzero(nulls.to_numpy())[0])
            raise DataError(
                path,
                f"column {col} is empty in row {row + 1} (and {int(nulls.sum()) - 1} other rows)",
                "fill or drop those rows",
            )
    pos = pd.to_numeric(df["position"], errors="coerce")
    if pos.isna().any():
        row = int(np.flatnonzero(pos.isna().to_numpy())[0])
        raise DataError(
            path,
            f"column position is not a number in row {row + 1} ({df['position'].iloc[row]!r})",
            "positions must be integers",
        )
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


def write_sequences(
    offsets: np.ndarray,
    values: np.ndarray,
    path: str | os.PathLike,
    ids: np.ndarray | None = None,
    source: str | None = None,
) -> None:
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


def read_vocab(path: str | os.PathLike) -> pd.DataFrame:
    """The vocabulary table (``vocab.parquet``): ``index``, ``track_id``, ``count``, ``artist_id``."""
    return pd.read_parquet(path)


def read_pairs(path: str | os.PathLike) -> pd.DataFrame:
    """Validation or test pairs (``split/val.parquet``, ``split/test.parquet``): ``playlist``,
    ``query``, ``target``."""
    return pd.read_parquet(path)


def vocab_size(path: str | os.PathLike) -> int:
    """Number of songs of a vocabulary table, from its parquet footer."""
    return pq.ParquetFile(path).metadata.num_rows


def read_json(path: str | os.PathLike):
    """A JSON file (UTF-8), such as ``best.json`` or ``metrics/{entry}.json``."""
    import json

    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
