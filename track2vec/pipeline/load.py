"""Step of the rule load (rules/data.smk): read the playlists file, check it, write it as parquet."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from ..errors import DataError
from ..io import read_playlists, write_playlists
from ..vocab import track_codes
from .common import LOG

__all__ = ["load_step"]


def load_step(source: str, out: str, logger: logging.Logger = LOG) -> dict:
    """Read a playlists file in any supported layout, check it, write ``playlists.parquet``.

    Parameters
    ----------
    source : str
        A .npy (Deezer or paired layout), .csv or .parquet (long table) file.
    out : str
        The parquet to write (one row per playlist: ``playlist``, ``tracks``, ``artists``).

    Returns
    -------
    dict
        Summary statistics (also logged).
    """
    t0 = time.perf_counter()
    pl = read_playlists(source)
    lengths = pl.lengths
    empty = int((lengths == 0).sum())
    if empty == pl.n_playlists:
        raise DataError(
            source, "no playlist holds a track", "check the file's layout (see the README, 'Input formats')"
        )
    if empty:
        logger.warning("%d of %d playlists hold no track token; they are kept as empty rows", empty, pl.n_playlists)
    dup = _duplicate_playlists(pl)
    if dup:
        logger.warning(
            "%d playlists repeat an earlier playlist exactly; they are kept (they weigh twice in training)", dup
        )
    write_playlists(pl, out, source=str(source))
    stats = {
        "layout": pl.layout,
        "playlists": pl.n_playlists,
        "track_tokens": int(len(pl.tracks)),
        "mean_length": float(lengths.mean()),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    logger.info("read %s: %s", source, stats)
    return stats


def _duplicate_playlists(pl) -> int:
    """Number of non-empty playlists identical to an earlier one (two 64-bit hashes per playlist)."""
    codes = track_codes(pl)[0]
    lengths = pl.lengths
    nonempty = lengths > 0
    if not nonempty.any():
        return 0
    local = np.arange(len(codes)) - np.repeat(pl.offsets[:-1], lengths)
    rng = np.random.default_rng(0)
    keys = {"n": lengths[nonempty]}
    with np.errstate(over="ignore"):
        for name in ("h1", "h2"):
            mult = rng.integers(1, 2**63, size=int(lengths.max()), dtype=np.uint64) | np.uint64(1)
            terms = (codes.astype(np.uint64) + np.uint64(1)) * mult[local]
            keys[name] = np.add.reduceat(terms, pl.offsets[:-1][nonempty])
    return int(pd.DataFrame(keys).duplicated().sum())
