"""The pipeline's steps as functions: files in, files out.

Each function is what one Snakemake rule runs (the scripts in ``scripts/`` only
unpack the ``snakemake`` object and call it), so every step can also be run and
tested without Snakemake. Outputs are written atomically.
"""
from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from .atomic import save_npy, write_json, write_text
from .config import HYPERPARAMETERS
from .errors import ConfigError, DataError
from .evaluate import check_embeddings, evaluate_pairs
from .io import load_playlists, read_playlists, read_sequences, source_of, write_playlists, write_sequences, write_table
from .split import split_playlists
from .vocab import build_vocabulary

__all__ = [
    "load_step",
    "vocab_step",
    "split_step",
    "train_step",
    "evaluate_step",
    "aggregate_step",
    "best_step",
    "test_step",
    "read_pairs",
    "read_vocab",
]

_log = logging.getLogger("track2vec")


def load_step(source: str, out: str, logger: logging.Logger = _log) -> dict:
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
        raise DataError(source, "no playlist holds a track", "check the file's layout (see the README, 'Input formats')")
    if empty:
        logger.warning("%d of %d playlists hold no track token; they are kept as empty rows", empty, pl.n_playlists)
    dup = _duplicate_playlists(pl)
    if dup:
        logger.warning("%d playlists repeat an earlier playlist exactly; they are kept (they weigh twice in training)", dup)
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
    codes, _ = pd.factorize(pl.tracks.to_numpy(zero_copy_only=False))
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


def vocab_step(playlists: str, min_count: int, vocab_out: str, corpus_out: str, logger: logging.Logger = _log) -> dict:
    """Count tracks, keep those with count >= ``min_count``, write the vocabulary and the encoded playlists.

    Outputs
    -------
    vocab_out : parquet with ``index``, ``track_id``, ``count``, ``artist_id``
    corpus_out : parquet with ``playlist`` and ``tracks`` (list of vocabulary indices)
    """
    pl = load_playlists(playlists)
    source = source_of(playlists)
    vocab = build_vocabulary(pl, min_count=min_count)
    if vocab.size < 2:
        raise DataError(
            source,
            f"only {vocab.size} track(s) occur at least min_count={min_count} times (of {vocab.n_tracks_total} distinct tracks)",
            "lower min_count in config.yaml (min_count: 1 keeps every track) or use a larger dataset",
        )
    write_table(vocab.table, vocab_out, source)
    write_sequences(vocab.offsets, vocab.values, corpus_out, source=source)
    stats = {
        "distinct_tracks": vocab.n_tracks_total,
        "kept_tracks": vocab.size,
        "min_count": min_count,
        "kept_tokens": int(len(vocab.values)),
    }
    logger.info("vocabulary: %s", stats)
    return stats


def split_step(corpus: str, n_val: int, n_test: int, seed: int, train_out: str, val_out: str, test_out: str, logger: logging.Logger = _log) -> dict:
    """Split the encoded playlists: training sequences and validation / test pairs (parquet)."""
    offsets, values, _ = read_sequences(corpus)
    source = source_of(corpus)
    try:
        sp = split_playlists(offsets, values, n_val=n_val, n_test=n_test, seed=seed)
    except ValueError as exc:
        raise DataError(source, str(exc)) from exc
    write_sequences(sp.train_offsets, sp.train_values, train_out, ids=sp.train_ids, source=source)
    write_table(sp.val, val_out, source)
    write_table(sp.test, test_out, source)
    stats = {"train_sequences": len(sp.train_ids), "train_tokens": int(len(sp.train_values)), "val_pairs": len(sp.val), "test_pairs": len(sp.test)}
    logger.info("split: %s", stats)
    return stats


def read_vocab(path: str) -> pd.DataFrame:
    """The vocabulary table written by :func:`vocab_step`."""
    return pd.read_parquet(path)


def read_pairs(path: str) -> pd.DataFrame:
    """Validation or test pairs written by :func:`split_step`."""
    return pd.read_parquet(path)


def _vocab_size(vocab: str) -> int:
    return pq.ParquetFile(vocab).metadata.num_rows


def train_step(
    train: str,
    vocab: str,
    params: Mapping,
    threads: int,
    embeddings_out: str,
    log_out: str,
    logger: logging.Logger = _log,
) -> dict:
    """Train one grid entry and write its embedding matrix (.npy) and per-epoch log (.tsv).

    The negative-sampling and subsampling distributions use the song counts of the
    training part only, so nothing of the held-out songs leaks into training.
    """
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the logs
    from .train import TrainParams, train as train_sgns  # TensorFlow is imported only here

    offsets, values, _ = read_sequences(train)
    V = _vocab_size(vocab)
    counts = np.bincount(values, minlength=V).astype(np.int64)
    p = TrainParams(**{h: params[h] for h in HYPERPARAMETERS})
    logger.info("training with %s on %d sequences, %d songs, %d threads", p, len(offsets) - 1, V, threads)
    result = train_sgns(offsets, values, counts, p, threads=threads, progress=logger.info)
    emb = check_embeddings(result.embeddings, V, embeddings_out)
    history = pd.DataFrame(result.history)
    save_npy(embeddings_out, emb)
    write_text(log_out, history.to_csv(sep="\t", index=False))
    logger.info("trained in %.1f s", result.seconds)
    return {"seconds": result.seconds}


def load_model(path, n_vocab: int):
    """Load what an entry learnt: an embedding matrix (``.npy``, checked) or a baseline (``.npz``).

    Raises
    ------
    DataError
        Unreadable file, or an embedding with the wrong shape, dtype or NaN values.
    """
    from .baselines import Baseline

    fix = "re-run its job (delete the file, or snakemake --forcerun on it)"
    if str(path).endswith(".npz"):
        try:
            model = Baseline.load(path)
        except Exception as exc:  # noqa: BLE001
            raise DataError(path, f"cannot be read as a baseline ({exc})", fix) from exc
        if len(model.counts) != n_vocab:
            raise DataError(path, f"covers {len(model.counts)} songs but the vocabulary has {n_vocab}", fix)
        return model
    try:
        emb = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise DataError(path, f"cannot be read as a .npy matrix ({exc})", fix) from exc
    return check_embeddings(emb, n_vocab, str(path))


def baseline_step(train: str, vocab: str, method: str, window: int, out: str, logger: logging.Logger = _log) -> dict:
    """Count a baseline (popularity or co-occurrence) on the training sequences; write it (.npz)."""
    from .baselines import Baseline

    t0 = time.perf_counter()
    offsets, values, _ = read_sequences(train)
    model = Baseline.fit(method, offsets, values, _vocab_size(vocab), window)
    model.save(out)
    seconds = time.perf_counter() - t0
    logger.info("%s baseline counted in %.2f s", method, seconds)
    return {"seconds": seconds}


def evaluate_step(
    embeddings: str,
    vocab: str,
    pairs: str,
    k: int,
    metric: str,
    same_song: str,
    out: str,
    entry: str | None = None,
    logger: logging.Logger = _log,
) -> dict:
    """Score an embedding on validation (or test) pairs; write HR@k / NDCG@k as JSON."""
    V = _vocab_size(vocab)
    if k >= V:
        raise ConfigError(f"config key 'evaluate.k' is {k} but the vocabulary has only {V} songs: choose k below {V}")
    emb = load_model(embeddings, V)
    df = read_pairs(pairs)
    t0 = time.perf_counter()
    scores = evaluate_pairs(emb, df, k=k, metric=metric, same_song=same_song)
    # no timing in the file: same inputs -> byte-identical metrics (the benchmark file has the time)
    logger.info("scored %d pairs in %.2f s", len(df), time.perf_counter() - t0)
    if entry is not None:
        scores["entry"] = entry
    logger.info("%s on %s: HR@%d %.4f, NDCG@%d %.4f (%d pairs)", entry or embeddings, pairs, k, scores["hr_at_k"], k, scores["ndcg_at_k"], scores["n_pairs"])
    write_json(out, scores)
    return scores


def aggregate_step(entries: Mapping[str, Mapping], metrics: Mapping[str, str], train_logs: Mapping[str, str], out: str, logger: logging.Logger = _log) -> pd.DataFrame:
    """Write the grid table: one row per entry with its hyperparameters, ``k``, ``hr_at_k``,
    ``ndcg_at_k`` and ``train_seconds`` (TSV)."""
    rows = []
    for name, hp in entries.items():
        with open(metrics[name], encoding="utf-8") as fh:
            m = json.load(fh)
        log = pd.read_csv(train_logs[name], sep="\t")
        rows.append(
            {
                "entry": name,
                **{h: hp[h] for h in HYPERPARAMETERS},
                "k": m["k"],
                "hr_at_k": m["hr_at_k"],
                "ndcg_at_k": m["ndcg_at_k"],
                "train_seconds": round(float(log["seconds"].sum()), 3),
            }
        )
    table = pd.DataFrame(rows)
    write_text(out, table.to_csv(sep="\t", index=False, float_format="%.6g"))
    logger.info("grid table:\n%s", table.to_string(index=False))
    return table


def best_step(grid: str, metric: str, out: str, logger: logging.Logger = _log) -> dict:
    """Pick the grid entry with the highest validation ``metric``; ties go to the earlier entry."""
    table = pd.read_csv(grid, sep="\t")
    if metric not in table.columns:
        raise ConfigError(f"config key 'best.metric' is {metric!r}, which is not a column of {grid}")
    i = int(np.argmax(table[metric].to_numpy()))
    row = table.iloc[i]
    best = {
        "entry": str(row["entry"]),
        "metric": metric,
        "value": float(row[metric]),
        "k": int(row["k"]),
        "hr_at_k": float(row["hr_at_k"]),
        "ndcg_at_k": float(row["ndcg_at_k"]),
        "hyperparameters": {h: _plain(row[h]) for h in HYPERPARAMETERS if h in table.columns},
    }
    write_json(out, best)
    logger.info("best entry by validation %s: %s (%.4f)", metric, best["entry"], best["value"])
    return best


def _plain(v):
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return float(v) if not math.isnan(v) else None
    return v


def test_step(best: str, embeddings: Mapping[str, str], vocab: str, pairs: str, k: int, metric: str, same_song: str, out: str, logger: logging.Logger = _log) -> dict:
    """Score the best entry on the test pairs; write ``entry``, ``k``, ``hr_at_k``, ``ndcg_at_k``, ``n_pairs``."""
    with open(best, encoding="utf-8") as fh:
        name = json.load(fh)["entry"]
    if name not in embeddings:
        raise DataError(best, f"names entry {name!r}, which is not in the grid any more", "re-run the best rule")
    return evaluate_step(embeddings[name], vocab, pairs, k, metric, same_song, out, entry=name, logger=logger)
