"""Steps of rules/aggregate.smk: the grid table, the search table, the best entry and its test score."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..atomic import write_json, write_text
from ..config import HYPERPARAMETERS
from ..errors import ConfigError, DataError
from ..grid import entry_of, t_interval
from ..io import read_json, read_pairs, read_sequences, vocab_size
from ..metrics import adjacent_pair_counts, evaluate_pairs
from ..models import load_model, prior_weight, song_prior
from ..names import COOCCURRENCE, EMBEDDING, ORACLE, POPULARITY
from .common import LOG, check_k

__all__ = ["aggregate_step", "search_step", "best_step", "test_step"]

#: the hyperparameters that mean something for each method (the others are blank in the grid table)
APPLIES = {
    EMBEDDING: set(HYPERPARAMETERS),
    COOCCURRENCE: {"method", "window"},
    POPULARITY: {"method"},
    ORACLE: {"method"},
}
#: the columns of replicate statistics, dropped from the grid table when every entry ran once
REPLICATE_COLUMNS = ["replicates", "hr_ci_low", "hr_ci_high", "ndcg_ci_low", "ndcg_ci_high"]


def _entry_rows(
    entries: Mapping[str, Mapping], metrics: Mapping[str, str], train_logs: Mapping[str, str]
) -> pd.DataFrame:
    """One row per entry: hyperparameters, mean metrics over its runs and their 95% t-intervals."""
    runs: dict[str, list[str]] = {}
    for run in metrics:
        runs.setdefault(entry_of(run), []).append(run)
    rows = []
    for name, hp in entries.items():
        ms = [read_json(metrics[r]) for r in runs[name]]
        hr = t_interval([m["hr_at_k"] for m in ms])
        nd = t_interval([m["ndcg_at_k"] for m in ms])
        seconds = [float(pd.read_csv(train_logs[r], sep="\t")["seconds"].sum()) for r in runs[name]]
        method = hp.get("method", EMBEDDING)
        if hp.get("popularity_prior") == "auto":
            # the weight chosen on the validation pairs (the lower median over replicate runs)
            chosen = sorted(float(m.get("popularity_prior", 0.0)) for m in ms)
            hp = {**hp, "popularity_prior": chosen[(len(chosen) - 1) // 2]}
        rows.append(
            {
                "entry": name,
                **{h: _cell(hp[h]) if h in APPLIES[method] else None for h in HYPERPARAMETERS},
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
    logger: logging.Logger = LOG,
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
        o = read_json(oracle)["val"]
        row = {
            "entry": ORACLE,
            "method": ORACLE,
            "k": o["k"],
            "hr_at_k": o["hr_at_k"],
            "ndcg_at_k": o["ndcg_at_k"],
            "replicates": 1,
        }
        table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
    if (table["replicates"] <= 1).all():
        table = table.drop(columns=REPLICATE_COLUMNS)
    write_text(out, table.to_csv(sep="\t", index=False, float_format="%.6g"))
    logger.info("grid table:\n%s", table.to_string(index=False))
    return table


def _best_first(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows by decreasing ``metric``, ties in their order: search.tsv's order, whose first trial is grid.tsv's."""
    return table.sort_values(metric, ascending=False, kind="stable")


def search_step(
    trials: Mapping[str, Mapping],
    metrics: Mapping[str, str],
    train_logs: Mapping[str, str],
    out: str,
    metric: str = "hr_at_k",
    logger: logging.Logger = LOG,
) -> pd.DataFrame:
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


def best_step(grid: str, metric: str, out: str, embeddings_only: bool = False, logger: logging.Logger = LOG) -> dict:
    """Pick the grid entry with the highest validation ``metric``; ties go to the earlier entry.
    The oracle row is never chosen; with ``embeddings_only`` the baselines are not either."""
    table = pd.read_csv(grid, sep="\t")
    if metric not in table.columns:
        raise ConfigError(f"config key 'best.metric' is {metric!r}, which is not a column of {grid}")
    eligible = table["method"] != ORACLE
    if embeddings_only:
        eligible &= table["method"] == EMBEDDING
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
    if isinstance(v, str) and "," in v:  # a list cell (ensemble_windows: 3,1,5)
        return [int(x) for x in v.split(",")]
    return v


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
    logger: logging.Logger = LOG,
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
    chosen = read_json(best)
    name = chosen["entry"]
    runs = [r for r in models if entry_of(r) == name]
    if not runs:
        raise DataError(best, f"names entry {name!r}, which is not in the grid any more", "re-run the best rule")
    V = vocab_size(vocab)
    check_k(k, V)
    df = read_pairs(pairs)
    subsets = _cold_start_subsets(df, train, V, cold_start)
    # every run of the entry has the same method, so one prior (counted once) serves them all
    method = chosen.get("method", EMBEDDING)
    prior = song_prior(train, V, prior_weight(chosen)) if method == EMBEDDING else None
    per_run = []
    for r in runs:
        model = load_model(models[r], V)
        logger.info("run %s: scoring %d test pairs against %d songs", r, len(df), V)
        s = evaluate_pairs(model, df, k=k, metric=metric, same_song=same_song, progress=logger.info, prior=prior)
        s["cold_start"] = {
            str(f): evaluate_pairs(model, sub, k=k, metric=metric, same_song=same_song, prior=prior)
            if len(sub)
            else {"n_pairs": 0}
            for f, sub in subsets.items()
        }
        per_run.append(s)
    result = _test_summary(name, method, per_run, list(subsets), same_song, metric)
    if oracle:
        o = read_json(oracle)["test"]
        result["oracle"] = {"hr_at_k": o["hr_at_k"], "ndcg_at_k": o["ndcg_at_k"]}
        result["share_of_oracle"] = result["hr_at_k"] / o["hr_at_k"] if o["hr_at_k"] else None
    write_json(out, result)
    logger.info(
        "test score of %s: HR@%d %.4f, NDCG@%d %.4f on %d pairs; cold start %s",
        name,
        k,
        result["hr_at_k"],
        k,
        result["ndcg_at_k"],
        result["n_pairs"],
        result["cold_start"],
    )
    return result


def _cold_start_subsets(pairs: pd.DataFrame, train: str | None, n_vocab: int, cold_start) -> dict[int, pd.DataFrame]:
    """For each f of ``cold_start``, the pairs whose (query, target) pair occurs as consecutive
    songs at most f times in the training sequences (none without ``train``)."""
    if train is None or not cold_start:
        return {}
    offsets, values, _ = read_sequences(train)
    seen = adjacent_pair_counts(offsets, values, pairs["query"].to_numpy(), pairs["target"].to_numpy(), n_vocab)
    return {int(f): pairs[seen <= f] for f in cold_start}


def _test_summary(
    name: str, method: str, per_run: list[dict], cold_start: list[int], same_song: str, metric: str
) -> dict:
    """``test_score.json``'s scores from each run's: means, and t-intervals with several runs."""
    first = per_run[0]
    hr = t_interval([s["hr_at_k"] for s in per_run])
    nd = t_interval([s["ndcg_at_k"] for s in per_run])
    result = {
        "entry": name,
        "method": method,
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
    for f in cold_start:
        key = str(f)
        n = first["cold_start"][key]["n_pairs"]
        entry = {"max_train_occurrences": f, "n_pairs": n}
        if n:
            entry["hr_at_k"] = float(np.mean([s["cold_start"][key]["hr_at_k"] for s in per_run]))
            entry["ndcg_at_k"] = float(np.mean([s["cold_start"][key]["ndcg_at_k"] for s in per_run]))
        result["cold_start"][key] = entry
    return result
