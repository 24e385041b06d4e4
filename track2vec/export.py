"""Song embeddings in the formats other tools read: word2vec (gensim), TensorBoard's projector, parquet.

Usage::

    import numpy as np
    import pandas as pd
    from track2vec.catalog import Catalog
    from track2vec.export import export_paths, write_export

    songs = Catalog(pd.read_parquet("results/vocab.parquet")).songs
    matrix = np.load("results/embeddings/tuned.npy")
    write_export(matrix, songs, export_paths("export/tuned"), top=10_000, info={"entry": "tuned"})

    from gensim.models import KeyedVectors
    kv = KeyedVectors.load_word2vec_format("export/tuned/word2vec.bin", binary=True)
    kv.most_similar("track_1699576835", topn=10)

The files of an export (:data:`EXPORT_FILES`), row ``i`` of each being song ``i`` of the
vocabulary (most frequent first), keyed by ``track_id``:

* ``word2vec.txt``, ``word2vec.bin``: the word2vec text and binary formats (a header line
  ``<songs> <dim>``, then one song per line: its track id and its vector, as nine significant
  digits or as little-endian float32), which ``gensim.models.KeyedVectors.load_word2vec_format``
  reads as they are (``binary=False`` / ``True``) and with which it finds the vectors exactly;
* ``vectors.tsv``, ``metadata.tsv``: TensorBoard's projector files for the ``top`` most
  frequent songs: their vectors (tab-separated, six significant digits) and, under a header
  row, their ``track_id``, ``title``, ``artist`` and ``count``;
* ``vectors.parquet``: ``track_id``, ``artist_id`` (null where unknown), ``count`` and
  ``vector``, a fixed-size list of float32;
* ``export.json``: which entry the files hold, its numbers of songs and dimensions, and the
  files.

Every file is written atomically (:mod:`track2vec.atomic`). A word2vec key holds no whitespace,
so in the word2vec files a track id's whitespace and ``%`` are percent-encoded (``BANK CHARGES``
is the key ``BANK%20CHARGES``; :func:`word2vec_key`, undone by ``urllib.parse.unquote``); the
other files hold the ids as they are.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path, write_json
from .errors import DataError
from .names import EMBEDDING

__all__ = [
    "DEFAULT_TOP",
    "EXPORT_FILES",
    "baseline_error",
    "word2vec_key",
    "choose_entry",
    "export_paths",
    "write_export",
    "write_parquet",
    "write_projector",
    "write_word2vec",
]

#: the files of an export, by kind
EXPORT_FILES = {
    "text": "word2vec.txt",
    "binary": "word2vec.bin",
    "vectors": "vectors.tsv",
    "metadata": "metadata.tsv",
    "parquet": "vectors.parquet",
    "manifest": "export.json",
}
#: the most frequent songs in the projector files unless told otherwise (config key ``export.top``)
DEFAULT_TOP = 10_000
#: the columns of the projector's metadata.tsv, in order
METADATA_HEADER = ("track_id", "title", "artist", "count")

#: rows formatted or packed at a time (bounds the memory of the text formats)
_CHUNK_ROWS = 4096
#: bytes of vectors per row group of vectors.parquet (bounds the writer's memory)
_ROW_GROUP_BYTES = 64 * 2**20
#: what a word2vec key cannot hold as it is: whitespace, and ``%`` (which escapes it)
_ESCAPED = re.compile(r"[\s%]+")


def export_paths(folder: str | os.PathLike) -> dict[str, Path]:
    """The path of each file of an export into ``folder``, by kind (:data:`EXPORT_FILES`)."""
    return {kind: Path(folder) / name for kind, name in EXPORT_FILES.items()}


def baseline_error(path: str | os.PathLike, entry: str, method: str, choices: list[str]) -> DataError:
    """The error of an export asked of a baseline, which counts songs and has no vectors.

    Parameters
    ----------
    path : str or os.PathLike
        The baseline's file (``baselines/{entry}.npz``).
    entry, method : str
        The entry and its method (``popularity``, ``cooccurrence``).
    choices : list of str
        The entries that do have vectors, named in the fix.
    """
    how = f"one of: {', '.join(choices)}" if choices else "add an sgns entry to the grid and run the pipeline"
    return DataError(
        path,
        f"entry {entry!r} is a baseline ({method}): it counts songs and has no vectors to export",
        f"export an sgns entry instead (track2vec export --entry NAME, or results/export/NAME/): {how}",
    )


def choose_entry(best: str | os.PathLike, grid: str | os.PathLike) -> tuple[str, str | None]:
    """The entry whose vectors stand for the best one: the best entry (``best.json``) when it is
    an sgns entry; when it is a baseline, the sgns entry of ``grid.tsv`` with the best value of
    the metric the best entry won on (ties go to the earlier entry).

    Returns
    -------
    entry : str
    note : str or None
        Says why the entry is not the best one; None when it is.

    Raises
    ------
    DataError
        A file is missing, or the best entry is a baseline and the grid has no sgns entry.
    """
    for path in (best, grid):
        if not Path(path).exists():
            raise DataError(path, "not found", "run the pipeline first: snakemake --cores 8")
    with open(best, encoding="utf-8") as fh:
        chosen = json.load(fh)
    if chosen.get("method", EMBEDDING) == EMBEDDING:
        return str(chosen["entry"]), None
    metric = chosen.get("metric", "hr_at_k")
    table = pd.read_csv(grid, sep="\t")
    sgns = table[table["method"] == EMBEDDING]
    if sgns.empty:
        raise DataError(
            grid,
            f"has no sgns entry, and the best entry {chosen['entry']!r} is a baseline ({chosen['method']}) "
            "with no vectors to export",
            "add an sgns entry to the grid",
        )
    row = sgns.iloc[int(np.argmax(sgns[metric].to_numpy()))]
    entry = str(row["entry"])
    note = (
        f"the best entry {chosen['entry']!r} is a baseline ({chosen['method']}) with no vectors: exporting the "
        f"best sgns entry by validation {metric}, {entry!r} ({float(row[metric]):.4f})"
    )
    return entry, note


def word2vec_key(track_id: str) -> str:
    """A track id as a word2vec key: its whitespace and ``%`` percent-encoded, so that the key holds
    no space and ``urllib.parse.unquote`` gives the id back (``"BANK CHARGES"`` -> ``"BANK%20CHARGES"``).
    An id without them is its own key."""
    return _ESCAPED.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), track_id)


def _keys(songs: pd.DataFrame, where: str | os.PathLike) -> list[str]:
    """The songs' track ids as word2vec keys (:func:`word2vec_key`); an empty id is an error."""
    keys = [word2vec_key(k) for k in songs["track_id"].astype(str)]
    if "" in keys:
        raise DataError(where, f"song {keys.index('')} has an empty track id, which cannot be a word2vec key",
                        "give every song an id in the playlists file, and run the pipeline again")  # fmt: skip
    return keys


def write_word2vec(path: str | os.PathLike, keys: list[str], matrix: np.ndarray, binary: bool = False) -> None:
    """Write vectors in the word2vec format, text or binary, as gensim and word2vec's C tools read it.

    A header line ``<rows> <dim>``, then per row its key, a space and its vector: ``dim`` numbers
    with nine significant digits, separated by spaces (text; float32 reads them back exactly),
    or ``dim`` little-endian float32 (binary); each row ends with a newline.

    Parameters
    ----------
    path : str or os.PathLike
    keys : list of str
        One per row, without whitespace.
    matrix : numpy.ndarray, shape (len(keys), dim)
    binary : bool
    """
    n, dim = matrix.shape
    line = "%s " + " ".join(["%.9g"] * dim) + "\n"
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(f"{n} {dim}\n".encode())
        for start in range(0, n, _CHUNK_ROWS):
            block = matrix[start : start + _CHUNK_ROWS]
            names = keys[start : start + _CHUNK_ROWS]
            if binary:
                rows = np.ascontiguousarray(block, dtype="<f4")
                fh.write(b"".join(k.encode() + b" " + r.tobytes() + b"\n" for k, r in zip(names, rows)))
            else:
                fh.write("".join(line % (k, *r) for k, r in zip(names, block.tolist())).encode())
        fh.flush()
        os.fsync(fh.fileno())


def _cell(value) -> str:
    """A value as one field of a tab-separated row (tabs and line breaks become spaces)."""
    return re.sub(r"[\t\r\n]+", " ", str(value))


def write_projector(
    vectors_path: str | os.PathLike, metadata_path: str | os.PathLike, songs: pd.DataFrame, matrix: np.ndarray
) -> None:
    """Write TensorBoard projector files for the songs given: ``vectors.tsv`` (one row of
    tab-separated numbers, six significant digits, per song) and ``metadata.tsv`` (a header row
    ``track_id, title, artist, count``, then one row per song, in the same order).

    A song without a title is labelled by its track id, as ``track2vec suggest`` shows it.

    Parameters
    ----------
    songs : pandas.DataFrame
        ``track_id``, ``title``, ``artist`` and ``count`` of each row of ``matrix``.
    matrix : numpy.ndarray, shape (len(songs), dim)
    """
    line = "\t".join(["%.6g"] * matrix.shape[1]) + "\n"
    with atomic_path(vectors_path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        for start in range(0, len(matrix), _CHUNK_ROWS):
            fh.write("".join(line % tuple(r) for r in matrix[start : start + _CHUNK_ROWS].tolist()))
    titles = songs["title"].astype(str).where(songs["title"].astype(str) != "", songs["track_id"].astype(str))
    rows = zip(songs["track_id"], titles, songs["artist"], songs["count"])
    text = "\t".join(METADATA_HEADER) + "\n" + "".join("\t".join(_cell(v) for v in row) + "\n" for row in rows)
    with atomic_path(metadata_path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def write_parquet(path: str | os.PathLike, songs: pd.DataFrame, matrix: np.ndarray) -> None:
    """Write ``vectors.parquet``: ``track_id``, ``artist_id`` (null where unknown), ``count``
    (int64) and ``vector``, a fixed-size list of ``dim`` float32; one row per song, in order.

    Read it with ``pyarrow.parquet.read_table`` (``vector`` stays a fixed-size list:
    ``table["vector"].combine_chunks().flatten().to_numpy().reshape(-1, dim)`` is the matrix),
    ``pandas.read_parquet`` (each ``vector`` an array: ``numpy.stack(df["vector"])``) or
    Spark's ``spark.read.parquet`` (``vector`` an ``array<float>``).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    n, dim = matrix.shape
    flat = pa.array(np.ascontiguousarray(matrix, dtype=np.float32).reshape(-1))
    artists = songs["artist_id"].astype(object).where(songs["artist_id"].notna() & (songs["artist_id"] != ""), None)
    table = pa.table(
        {
            "track_id": pa.array(songs["track_id"].astype(str).tolist(), pa.string()),
            "artist_id": pa.array(artists.tolist(), pa.string()),
            "count": pa.array(songs["count"].to_numpy(dtype=np.int64)),
            "vector": pa.FixedSizeListArray.from_arrays(flat, dim),
        }
    )
    with atomic_path(path, suffix=".parquet") as tmp:
        pq.write_table(table, tmp, row_group_size=max(1, _ROW_GROUP_BYTES // (4 * max(dim, 1))))


def write_export(
    matrix: np.ndarray,
    songs: pd.DataFrame,
    paths: Mapping[str, str | os.PathLike],
    top: int = DEFAULT_TOP,
    info: Mapping | None = None,
) -> dict:
    """Write every file of an export (:data:`EXPORT_FILES`) of one embedding matrix.

    Parameters
    ----------
    matrix : numpy.ndarray, shape (V, dim)
        Row i is the vector of song i (``embeddings/{entry}.npy``; an ensemble's combined matrix).
    songs : pandas.DataFrame
        The catalog's songs (:attr:`track2vec.catalog.Catalog.songs`): ``track_id``,
        ``artist_id``, ``count``, ``title``, ``artist``; row i is song i, most frequent first.
    paths : mapping
        Where each file goes, by kind (:func:`export_paths`).
    top : int
        The most frequent songs in the projector files (all when there are fewer).
    info : mapping, optional
        Written into ``export.json`` first (the entry's name, ...).

    Returns
    -------
    dict
        What ``export.json`` holds: ``info``, then ``songs``, ``dim``, ``projector_songs`` and
        ``files``.

    Raises
    ------
    DataError
        The matrix does not have one row per song, or a track id cannot be a word2vec key.
    ValueError
        ``top`` is below 1.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    where = paths["text"]
    if matrix.ndim != 2 or len(matrix) != len(songs):
        raise DataError(where, f"a matrix of shape {matrix.shape} cannot hold the vectors of {len(songs)} songs")
    keys = _keys(songs, where)
    write_word2vec(paths["text"], keys, matrix)
    write_word2vec(paths["binary"], keys, matrix, binary=True)
    n_top = min(int(top), len(songs))
    write_projector(paths["vectors"], paths["metadata"], songs.iloc[:n_top], matrix[:n_top])
    write_parquet(paths["parquet"], songs, matrix)
    manifest = {
        **(info or {}),
        "songs": int(matrix.shape[0]),
        "dim": int(matrix.shape[1]),
        "projector_songs": n_top,
        "files": {kind: Path(p).name for kind, p in paths.items() if kind != "manifest"},
    }
    write_json(paths["manifest"], manifest)
    return manifest
