"""Benchmark datasets: generate / locate a playlists file, then our preprocessing
(read_playlists -> build_vocabulary -> split_playlists), cached as .npz so that
every trainer of a run sees exactly the same training sequences and validation pairs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

#: the shared e-commerce sessions: $TRACK2VEC_ECOMMERCE, else ../shared/data/ relative to the project root
ECOMMERCE = Path(
    os.environ.get("TRACK2VEC_ECOMMERCE")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ecommerce_sessions.npy"
)


def ecommerce_path() -> Path | None:
    """The e-commerce file, or None where it is absent."""
    return ECOMMERCE if ECOMMERCE.exists() else None


def synthetic_file(cache: Path, n_playlists: int) -> Path:
    """The built-in dataset (preset full, seed 0) with ``n_playlists`` playlists, generated once."""
    from track2vec.atomic import save_npy
    from track2vec.synthetic import generate

    path = cache / f"synthetic_{n_playlists}.npy"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        ds = generate("full", seed=0, n_playlists=n_playlists)
        save_npy(path, ds.playlists)
    return path


def prepared(cache: Path, name: str, source: Path, min_count: int = 2) -> Path:
    """``cache/<name>_prepared.npz``: offsets, values, counts (training part), val/test pairs."""
    from track2vec.io import read_playlists
    from track2vec.split import split_playlists
    from track2vec.vocab import build_vocabulary

    out = cache / f"{name}_prepared.npz"
    if out.exists():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    pl = read_playlists(source)
    voc = build_vocabulary(pl, min_count=min_count)
    sp = split_playlists(voc.offsets, voc.values, n_val=10_000, n_test=10_000, seed=4)
    V = voc.size
    counts = np.bincount(sp.train_values, minlength=V).astype(np.int64)
    np.savez(
        out,
        offsets=sp.train_offsets,
        values=sp.train_values,
        counts=counts,
        val_query=sp.val["query"].to_numpy(np.int64),
        val_target=sp.val["target"].to_numpy(np.int64),
        full_counts=voc.counts,
    )
    return out


def load_prepared(path: Path) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}
