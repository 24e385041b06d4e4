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
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from .atomic import save_npy, write_json, write_text
from .config import HYPERPARAMETERS, OPTIONAL_DEFAULTS, TRAINING
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
    "vocab_artists",
    "ensemble_step",
    "evaluate_step",
    "aggregate_step",
    "best_step",
    "test_step",
    "read_pairs",
    "read_vocab",
    "load_model",
    "prior_weight",
    "AUTO_PRIORS",
    "song_prior",
    "baseline_step",
    "oracle_step",
    "search_step",
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
    from .vocab import _encode

    codes = pl.track_codes[0] if pl.track_codes is not None else _encode(pl.tracks)[0]
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


def _check_k(k: int, n_vocab: int) -> None:
    """``evaluate.k`` must leave room for the query itself in the vocabulary."""
    if k >= n_vocab:
        raise ConfigError(f"config key 'evaluate.k' is {k} but the vocabulary has only {n_vocab} songs: choose k below {n_vocab}")


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
    training part only, so nothing of the held-out songs leaks into training. With
    ``artist_vectors`` the artists come from ``vocab.parquet``'s ``artist_id`` column
    (:func:`vocab_artists`).
    """
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the logs
    from .train import TrainParams, train as train_sgns  # TensorFlow is imported only here

    offsets, values, _ = read_sequences(train)
    V = _vocab_size(vocab)
    counts = np.bincount(values, minlength=V).astype(np.int64)
    # artist_vectors came later than the others: a params mapping without it takes its default
    p = TrainParams(**{h: params[h] for h in TRAINING if h != "artist_vectors"},
                    artist_vectors=bool(params.get("artist_vectors", OPTIONAL_DEFAULTS["artist_vectors"])))
    artists = vocab_artists(vocab, logger) if p.artist_vectors else None
    logger.info("training with %s on %d sequences, %d songs, %d threads", p, len(offsets) - 1, V, threads)
    result = train_sgns(offsets, values, counts, p, threads=threads, progress=logger.info, artists=artists)
    emb = check_embeddings(result.embeddings, V, embeddings_out)
    history = pd.DataFrame(result.history)
    save_npy(embeddings_out, emb)
    write_text(log_out, history.to_csv(sep="\t", index=False))
    logger.info("trained in %.1f s", result.seconds)
    return {"seconds": result.seconds}


def vocab_artists(vocab: str, logger: logging.Logger = _log) -> np.ndarray:
    """The artist of each song of ``vocab.parquet`` as an index (``-1`` where none is known),
    for ``artist_vectors``; artists are numbered in order of first appearance."""
    ids = pd.read_parquet(vocab, columns=["artist_id"])["artist_id"]
    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    known = int((codes >= 0).sum())
    if known:
        logger.info("artist vectors: %d artists for %d of %d songs", len(uniques), known, len(codes))
    else:
        logger.info("artist vectors: the data holds no artist, so every song keeps a plain vector")
    return codes.astype(np.int64)


def ensemble_step(
    members: Sequence[str],
    member_logs: Sequence[str],
    vocab: str,
    embeddings_out: str,
    log_out: str,
    logger: logging.Logger = _log,
) -> dict:
    """Write an ensemble entry's embedding: its members' embeddings combined by
    :func:`track2vec.evaluate.combine_embeddings` (unit rows, concatenated).

    The training log holds, per epoch, the members' mean loss and their summed pairs and
    seconds (so the grid's ``train_seconds`` is the ensemble's whole training time).

    Raises
    ------
    DataError
        A member file that is unreadable or does not match the vocabulary.
    """
    from .evaluate import combine_embeddings

    V = _vocab_size(vocab)
    embs = [load_model(path, V) for path in members]
    emb = combine_embeddings(embs)
    logs = [pd.read_csv(path, sep="\t") for path in member_logs]
    both = pd.concat(logs, ignore_index=True)
    history = both.groupby("epoch", sort=True).agg(
        loss=("loss", "mean"), positive_pairs=("positive_pairs", "sum"), seconds=("seconds", "sum"),
        learning_rate=("learning_rate", "first")).reset_index()
    history["pairs_per_second"] = history["positive_pairs"] / history["seconds"]
    history["members"] = len(members)
    save_npy(embeddings_out, emb)
    write_text(log_out, history.to_csv(sep="\t", index=False))
    logger.info("ensemble of %d members (%s): %d songs x %d dimensions", len(members),
                ", ".join(str(m) for m in members), emb.shape[0], emb.shape[1])
    return {"members": len(members), "dim": int(emb.shape[1])}


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


def prior_weight(best: Mapping) -> float:
    """The ``popularity_prior`` of the entry a ``best.json`` names (0 when absent, as for
    baselines; for ``auto``, grid.tsv and best.json hold the weight chosen on validation)."""
    value = best.get("hyperparameters", {}).get("popularity_prior") or 0.0
    if value == "auto":
        raise ConfigError("best.json holds popularity_prior 'auto' instead of the chosen weight: re-run the aggregate and best rules")
    return float(value)


def song_prior(train: str | None, n_vocab: int, popularity: float, model=None) -> np.ndarray | None:
    """The per-song popularity prior of an entry (None for 0 or for a baseline, which ranks by its own counts).

    Raises
    ------
    ConfigError
        ``popularity`` > 0 without the training sequences to count.
    """
    from .evaluate import popularity_prior

    if not popularity or hasattr(model, "complete"):
        return None
    return popularity_prior(_train_counts(train, n_vocab, "popularity_prior' > 0"), float(popularity))


def _train_counts(train: str | None, n_vocab: int, what: str) -> np.ndarray:
    """Occurrences of each song in the training sequences (the popularity prior's counts)."""
    if train is None:
        raise ConfigError(f"hyperparameter '{what} needs the training sequences (split/train.parquet) to count songs")
    _, values, _ = read_sequences(train)
    return np.bincount(values, minlength=n_vocab)


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


#: the popularity-prior weights that ``popularity_prior: auto`` tries on the validation pairs
AUTO_PRIORS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2)


def _choose_prior(emb, df, V, train, k, metric, same_song, choose_by, name, logger) -> dict:
    """Scores with the best weight of :data:`AUTO_PRIORS` by ``choose_by``, and every weight's."""
    from .evaluate import popularity_prior

    if choose_by not in ("hr_at_k", "ndcg_at_k"):
        raise ConfigError(f"config key 'best.metric' must be hr_at_k or ndcg_at_k to choose the popularity prior, got {choose_by!r}")
    counts = _train_counts(train, V, "popularity_prior: auto'")
    logger.info("%s: scoring %d pairs against %d songs with each popularity prior of %s", name, len(df), V, AUTO_PRIORS)
    scan = []
    for w in AUTO_PRIORS:
        s = evaluate_pairs(emb, df, k=k, metric=metric, same_song=same_song, prior=popularity_prior(counts, w))
        scan.append(s)
        logger.info("  popularity prior %g: HR@%d %.4f, NDCG@%d %.4f", w, k, s["hr_at_k"], k, s["ndcg_at_k"])
    i = max(range(len(scan)), key=lambda j: (scan[j][choose_by], -j))   # ties: the smaller weight
    logger.info("%s: popularity prior %g chosen (highest %s)", name, AUTO_PRIORS[i], choose_by)
    return {**scan[i], "popularity_prior": AUTO_PRIORS[i],
            "popularity_prior_scan": [{"popularity_prior": w, "hr_at_k": s["hr_at_k"], "ndcg_at_k": s["ndcg_at_k"]}
                                      for w, s in zip(AUTO_PRIORS, scan)]}


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
    train: str | None = None,
    popularity: float | str = 0.0,
    choose_by: str = "ndcg_at_k",
) -> dict:
    """Score an embedding on validation (or test) pairs; write HR@k / NDCG@k as JSON.

    ``popularity`` > 0 (an sgns entry's ``popularity_prior``) ranks by similarity plus
    ``popularity * log(1 + count)``, the counts taken from the training sequences
    ``train`` (see :func:`track2vec.evaluate.popularity_prior`). ``popularity="auto"``
    scores the pairs with every weight of :data:`AUTO_PRIORS` and keeps the one with the
    highest ``choose_by`` (ties: the smaller weight); the JSON then names the weight
    (``popularity_prior``) and lists every weight's scores (``popularity_prior_scan``).
    Meant for the validation pairs: the test step uses the weight chosen there.
    """
    V = _vocab_size(vocab)
    _check_k(k, V)
    emb = load_model(embeddings, V)
    df = read_pairs(pairs)
    t0 = time.perf_counter()
    if popularity == "auto" and not hasattr(emb, "complete"):
        scores = _choose_prior(emb, df, V, train, k, metric, same_song, choose_by, entry or embeddings, logger)
    else:
        prior = song_prior(train, V, popularity, emb)   # None for a baseline, whatever its weight
        logger.info("%s: scoring %d pairs against %d songs%s", entry or embeddings, len(df), V,
                    f", popularity prior {popularity:g}" if prior is not None else "")
        scores = evaluate_pairs(emb, df, k=k, metric=metric, same_song=same_song, progress=logger.info, prior=prior)
    # no timing in the file: same inputs -> byte-identical metrics (the benchmark file has the time)
    logger.info("scored %d pairs in %.2f s", len(df), time.perf_counter() - t0)
    if entry is not None:
        scores["entry"] = entry
    logger.info("%s on %s: HR@%d %.4f, NDCG@%d %.4f (%d pairs)", entry or embeddings, pairs, k, scores["hr_at_k"], k, scores["ndcg_at_k"], scores["n_pairs"])
    write_json(out, scores)
    return scores


#: hyperparameters that mean something for each method (others are blank in the grid table)
_APPLIES = {"sgns": set(HYPERPARAMETERS), "cooccurrence": {"method", "window"}, "popularity": {"method"}, "oracle": {"method"}}


def _read_json(path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _entry_rows(entries: Mapping[str, Mapping], metrics: Mapping[str, str], train_logs: Mapping[str, str]) -> pd.DataFrame:
    """One row per entry: hyperparameters, mean metrics over its runs and their 95% t-intervals."""
    from .grid import split_run, t_interval

    runs: dict[str, list[str]] = {}
    for run in metrics:
        runs.setdefault(split_run(run)[0], []).append(run)
    rows = []
    for name, hp in entries.items():
        ms = [_read_json(metrics[r]) for r in runs[name]]
        hr = t_interval([m["hr_at_k"] for m in ms])
        nd = t_interval([m["ndcg_at_k"] for m in ms])
        seconds = [float(pd.read_csv(train_logs[r], sep="\t")["seconds"].sum()) for r in runs[name]]
        method = hp.get("method", "sgns")
        if hp.get("popularity_prior") == "auto":
            # the weight chosen on the validation pairs (the lower median over replicate runs)
            chosen = sorted(float(m.get("popularity_prior", 0.0)) for m in ms)
            hp = {**hp, "popularity_prior": chosen[(len(chosen) - 1) // 2]}
        rows.append(
            {
                "entry": name,
                **{h: _cell(hp[h]) if h in _APPLIES[method] else None for h in HYPERPARAMETERS},
                "k": ms[0]["k"],
                "hr_at_k": hr[0],
                "ndcg_at_k": nd[0],
                "replicates": len(ms),
                "hr_ci_low": hr[1],
                "hr_ci_high": hr[2],
                "ndcg_ci_low": nd[1],
                "ndcg_ci_high": nd[2],
                "train_seconds": round(float(np.mean(seconds)), 3),
            }
        )
    return pd.DataFrame(rows)


def _cell(value):
    """A hyperparameter as a grid-table cell: a list (``ensemble_windows``) as ``3,1,5``."""
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value


def aggregate_step(
    entries: Mapping[str, Mapping],
    metrics: Mapping[str, str],
    train_logs: Mapping[str, str],
    out: str,
    oracle: str | None = None,
    trials: Sequence[str] = (),
    metric: str = "hr_at_k",
    logger: logging.Logger = _log,
) -> pd.DataFrame:
    """Write the grid table (TSV): one row per entry with its ``method`` and hyperparameters
    (blank where they do not apply), ``k``, ``hr_at_k``, ``ndcg_at_k`` (means over replicate
    runs) and ``train_seconds``. With replicates, also ``replicates`` and the 95% t-intervals
    ``hr_ci_low``/``hr_ci_high``/``ndcg_ci_low``/``ndcg_ci_high``.

    Parameters
    ----------
    entries : mapping
        Entry name -> hyperparameters, in grid order; random-search trials are named ``search_*``.
    metrics, train_logs : mapping
        Run id -> file (``{entry}``, ``{entry}+r2``, ...).
    oracle : str, optional
        ``metrics/oracle.json``: adds the ``oracle`` row (validation scores).
    trials : sequence of str
        The random-search trials among ``entries``: only the best one goes into the grid
        table (all are in ``search.tsv``, see :func:`search_step`).
    metric : {"hr_at_k", "ndcg_at_k"}
        What "best" means for the trials (config ``best.metric``).
    """
    table = _entry_rows(entries, metrics, train_logs)
    is_trial = table["entry"].isin(list(trials))
    if is_trial.any():
        best_trial = _best_first(table[is_trial], metric).head(1)
        table = pd.concat([table[~is_trial], best_trial], ignore_index=True)
    if oracle:
        o = _read_json(oracle)["val"]
        row = {"entry": "oracle", "method": "oracle", "k": o["k"], "hr_at_k": o["hr_at_k"], "ndcg_at_k": o["ndcg_at_k"], "replicates": 1}
        table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
    if (table["replicates"] <= 1).all():
        table = table.drop(columns=["replicates", "hr_ci_low", "hr_ci_high", "ndcg_ci_low", "ndcg_ci_high"])
    write_text(out, table.to_csv(sep="\t", index=False, float_format="%.6g"))
    logger.info("grid table:\n%s", table.to_string(index=False))
    return table


def _best_first(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows by decreasing ``metric``, ties in their order: search.tsv's order, whose first trial is grid.tsv's."""
    return table.sort_values(metric, ascending=False, kind="stable")


def search_step(trials: Mapping[str, Mapping], metrics: Mapping[str, str], train_logs: Mapping[str, str], out: str,
                metric: str = "hr_at_k", logger: logging.Logger = _log) -> pd.DataFrame:
    """Write every random-search trial with its validation scores, best (by ``metric``) first (TSV).

    Parameters
    ----------
    trials : mapping
        Trial name -> hyperparameters.
    metrics, train_logs : mapping
        Run id -> file, for the trials' runs.
    """
    table = _entry_rows(trials, metrics, train_logs)
    table = _best_first(table, metric)
    write_text(out, table.to_csv(sep="\t", index=False, float_format="%.6g"))
    logger.info("search trials:\n%s", table.to_string(index=False))
    return table


def best_step(grid: str, metric: str, out: str, embeddings_only: bool = False, logger: logging.Logger = _log) -> dict:
    """Pick the grid entry with the highest validation ``metric``; ties go to the earlier entry.
    The oracle row is never chosen; with ``embeddings_only`` the baselines are not either."""
    table = pd.read_csv(grid, sep="\t")
    if metric not in table.columns:
        raise ConfigError(f"config key 'best.metric' is {metric!r}, which is not a column of {grid}")
    eligible = table["method"] != "oracle"
    if embeddings_only:
        eligible &= table["method"] == "sgns"
    if not eligible.any():
        raise ConfigError(f"no eligible entry in {grid}: with best.embeddings_only the grid needs an sgns entry")
    cand = table[eligible]
    i = int(np.argmax(cand[metric].to_numpy()))
    row = cand.iloc[i]
    best = {
        "entry": str(row["entry"]),
        "method": str(row["method"]),
        "metric": metric,
        "value": float(row[metric]),
        "k": int(row["k"]),
        "hr_at_k": float(row["hr_at_k"]),
        "ndcg_at_k": float(row["ndcg_at_k"]),
        "hyperparameters": {h: _plain(row[h]) for h in HYPERPARAMETERS if h in table.columns and not pd.isna(row[h])},
    }
    write_json(out, best)
    logger.info("best entry by validation %s: %s (%.4f)", metric, best["entry"], best["value"])
    return best


def _plain(v):
    """A grid-table cell as a plain JSON value (the table reads integer columns with
    blanks as floats, and booleans with blanks as strings)."""
    if isinstance(v, (bool, np.bool_)) or v in ("True", "False"):
        return v in (True, "True")
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return int(v) if float(v).is_integer() else float(v)
    if isinstance(v, str) and "," in v:   # a list cell (ensemble_windows: 3,1,5)
        return [int(x) for x in v.split(",")]
    return v


def oracle_step(model: str, vocab: str, val: str, test: str, k: int, same_song: str, out: str, logger: logging.Logger = _log) -> dict:
    """The best achievable HR@k / NDCG@k on the built-in dataset (validation and test), as JSON."""
    from .oracle import oracle_scores
    from .synthetic import load_model as load_generator

    gen = load_generator(model)
    vocab_df = read_vocab(vocab)
    scores = {part: oracle_scores(gen, vocab_df, read_pairs(path), k=k, same_song=same_song, progress=logger.info) for part, path in (("val", val), ("test", test))}
    write_json(out, scores)
    logger.info("oracle: validation HR@%d %.4f NDCG@%d %.4f; test HR@%d %.4f", k, scores["val"]["hr_at_k"], k, scores["val"]["ndcg_at_k"], k, scores["test"]["hr_at_k"])
    return scores


def test_step(
    best: str,
    models: Mapping[str, str],
    vocab: str,
    pairs: str,
    k: int,
    metric: str,
    same_song: str,
    out: str,
    train: str | None = None,
    cold_start: tuple[int, ...] = (),
    oracle: str | None = None,
    logger: logging.Logger = _log,
) -> dict:
    """Score the best entry on the test pairs and write ``test_score.json``.

    Keys: ``entry``, ``method``, ``k``, ``hr_at_k``, ``ndcg_at_k``, ``n_pairs`` (means over the
    entry's replicate runs, with ``replicates`` and 95% t-intervals when there are several),
    ``cold_start`` (the same scores on the test pairs whose (query, next) pair occurs at most f
    times in the training sequences, for each f) and, on the built-in dataset, ``oracle`` (the
    best achievable test scores) and ``share_of_oracle`` (HR@k / oracle HR@k).

    Parameters
    ----------
    models : mapping
        Run id -> model file (embeddings .npy or baseline .npz).
    """
    from .grid import adjacent_pair_counts, split_run, t_interval

    name = _read_json(best)["entry"]
    runs = [r for r in models if split_run(r)[0] == name]
    if not runs:
        raise DataError(best, f"names entry {name!r}, which is not in the grid any more", "re-run the best rule")
    V = _vocab_size(vocab)
    _check_k(k, V)
    df = read_pairs(pairs)
    subsets = {}
    if train is not None and cold_start:
        offsets, values, _ = read_sequences(train)
        seen = adjacent_pair_counts(offsets, values, df["query"].to_numpy(), df["target"].to_numpy(), V)
        subsets = {int(f): df[seen <= f] for f in cold_start}
    chosen = _read_json(best)
    # every run of the entry has the same method, so one prior (counted once) serves them all
    prior = song_prior(train, V, prior_weight(chosen)) if chosen.get("method", "sgns") == "sgns" else None
    per_run = []
    for r in runs:
        model = load_model(models[r], V)
        logger.info("run %s: scoring %d test pairs against %d songs", r, len(df), V)
        s = evaluate_pairs(model, df, k=k, metric=metric, same_song=same_song, progress=logger.info, prior=prior)
        s["cold_start"] = {str(f): (evaluate_pairs(model, sub, k=k, metric=metric, same_song=same_song, prior=prior) if len(sub) else {"n_pairs": 0}) for f, sub in subsets.items()}
        per_run.append(s)
    first = per_run[0]
    hr = t_interval([s["hr_at_k"] for s in per_run])
    nd = t_interval([s["ndcg_at_k"] for s in per_run])
    result = {
        "entry": name,
        "method": _read_json(best).get("method", "sgns"),
        "k": first["k"],
        "hr_at_k": hr[0],
        "ndcg_at_k": nd[0],
        "n_pairs": first["n_pairs"],
        "n_same_song": first["n_same_song"],
        "same_song": same_song,
        "metric": metric,
        "cold_start": {},
    }
    if len(per_run) > 1:
        result.update(replicates=len(per_run), hr_ci=[hr[1], hr[2]], ndcg_ci=[nd[1], nd[2]])
    for f in subsets:
        key = str(f)
        n = first["cold_start"][key]["n_pairs"]
        entry = {"max_train_occurrences": f, "n_pairs": n}
        if n:
            entry["hr_at_k"] = float(np.mean([s["cold_start"][key]["hr_at_k"] for s in per_run]))
            entry["ndcg_at_k"] = float(np.mean([s["cold_start"][key]["ndcg_at_k"] for s in per_run]))
        result["cold_start"][key] = entry
    if oracle:
        o = _read_json(oracle)["test"]
        result["oracle"] = {"hr_at_k": o["hr_at_k"], "ndcg_at_k": o["ndcg_at_k"]}
        result["share_of_oracle"] = result["hr_at_k"] / o["hr_at_k"] if o["hr_at_k"] else None
    write_json(out, result)
    logger.info("test score of %s: HR@%d %.4f, NDCG@%d %.4f on %d pairs; cold start %s", name, k, result["hr_at_k"], k, result["ndcg_at_k"], result["n_pairs"], result["cold_start"])
    return result
