"""Step of the rule export (rules/export.smk): one entry's embeddings in the formats other tools read."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..catalog import Catalog, read_metadata
from ..embeddings import check_embeddings
from ..export import baseline_error, choose_entry, write_export
from ..names import EMBEDDING
from .common import LOG

__all__ = ["export_step", "BEST"]

#: the ``{entry}`` of the export of the best entry (``results/export/best/``)
BEST = "best"


def export_step(
    entry: str,
    models: Mapping[str, str],
    vocab: str,
    metadata: str | None,
    top: int,
    outputs: Mapping[str, str],
    best: str | None = None,
    grid: str | None = None,
    methods: Mapping[str, str] | None = None,
    logger: logging.Logger = LOG,
) -> dict:
    """Write the export of ``entry`` (:func:`track2vec.export.write_export`): word2vec text and
    binary, TensorBoard projector files for the ``top`` most frequent songs, vectors.parquet and
    export.json.

    ``entry`` :data:`BEST` exports the best entry of ``best`` (best.json) or, when that is a
    baseline, the best sgns entry of ``grid`` (grid.tsv), saying so in the log and in export.json.

    Parameters
    ----------
    models : mapping
        Each entry's model file: ``embeddings/{entry}.npy``, or a baseline's ``baselines/{entry}.npz``.
    methods : mapping, optional
        Each grid entry's method: the error of a baseline names it and the sgns entries.
    outputs : mapping
        Where each file goes, by kind (:data:`track2vec.export.EXPORT_FILES`).

    Raises
    ------
    DataError
        ``entry`` is a baseline (it has no vectors), or a file is missing or malformed.
    """
    info = {"entry": entry}
    if entry == BEST:
        name, note = choose_entry(best, grid)
        info = {"entry": name, "exported_as": BEST}
        if note:
            logger.warning("%s", note)
            info["note"] = note
        entry = name
    path = models[entry]
    if not str(path).endswith(".npy"):
        methods = methods or {}
        sgns = [n for n, m in methods.items() if m == EMBEDDING]
        raise baseline_error(path, entry, methods.get(entry, "baseline"), sgns)
    songs = Catalog(pd.read_parquet(vocab), read_metadata(metadata) if metadata else None).songs
    matrix = check_embeddings(np.load(path, mmap_mode="r"), len(songs), os.fspath(path))
    manifest = write_export(matrix, songs, outputs, top=top, info=info)
    logger.info(
        "exported %s: %d songs x %d dimensions, the %d most frequent in the projector files, into %s",
        entry,
        manifest["songs"],
        manifest["dim"],
        manifest["projector_songs"],
        os.path.dirname(outputs["manifest"]) or ".",
    )
    return manifest
