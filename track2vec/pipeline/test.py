"""Step of the rule test (rules/aggregate.smk): the best entry on the test pairs."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..atomic import write_json
from ..errors import DataError
from ..grid import entry_of, t_interval
from ..io import read_json, read_pairs, read_sequences, vocab_size
from ..metrics import adjacent_pair_counts, evaluate_pairs
from ..models import load_model, prior_weight, song_prior
from ..names import EMBEDDING
from .common import LOG, check_k, read_contexts

__all__ = ["test_step"]


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
    exclude_context: bool = True,
) -> dict:
    """Score the best entry on the test pairs and write ``test_score.json``.

    Keys: ``entry``, ``method``, ``k``, ``hr_at_k``, ``ndcg_at_k``, ``n_pairs`` (means over the
    entry's replicate runs, with ``replicates`` and 95% t-intervals when there are several),
    ``cold_start`` (the same scores on the test pairs whose (query, next) pair occurs at most f
    times in the training sequences, for each f) and, on the built-in dataset, ``oracle`` (the
    best achievable test scores) and ``share_of_oracle`` (HR@k / oracle HR@k). The headline
    scores are the last-song protocol's (``protocol: last``); when ``best.json`` holds the
    entry's context setting (``evaluate.context``), ``context`` holds the scores from each test
    pair's context with the decay chosen on validation.

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
    ctx = chosen.get("context")
    contexts = None
    if ctx:
        contexts = read_contexts(train, df, None if ctx["protocol"] == "all" else int(ctx["protocol"]))
    per_run = []
    for r in runs:
        model = load_model(models[r], V)
        logger.info("run %s: scoring %d test pairs against %d songs", r, len(df), V)
        s = evaluate_pairs(model, df, k=k, metric=metric, same_song=same_song, progress=logger.info, prior=prior)
        if ctx:
            s["context"] = evaluate_pairs(model, df, k=k, metric=metric, same_song=same_song, prior=prior,
                                          contexts=contexts, decay=float(ctx["context_decay"] or 1.0),
                                          exclude_context=exclude_context)  # fmt: skip
        s["cold_start"] = {
            str(f): evaluate_pairs(model, sub, k=k, metric=metric, same_song=same_song, prior=prior)
            if len(sub)
            else {"n_pairs": 0}
            for f, sub in subsets.items()
        }
        per_run.append(s)
    result = _test_summary(name, method, per_run, list(subsets), same_song, metric)
    if ctx:
        result["context"] = {
            "protocol": ctx["protocol"],
            "context_decay": ctx["context_decay"],
            "exclude_context": bool(exclude_context),
            "hr_at_k": float(np.mean([s["context"]["hr_at_k"] for s in per_run])),
            "ndcg_at_k": float(np.mean([s["context"]["ndcg_at_k"] for s in per_run])),
            "n_pairs": per_run[0]["context"]["n_pairs"],
        }
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
        "protocol": "last",
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
