"""Step of the rule evaluate (rules/evaluate.smk): an entry's scores on the validation pairs."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from ..atomic import write_json
from ..errors import ConfigError
from ..io import read_pairs, vocab_size
from ..metrics import evaluate_pairs
from ..models import AUTO_PRIORS, Model, load_model, popularity_prior, song_prior, train_counts
from .common import LOG, check_k, read_contexts

__all__ = ["evaluate_step", "choose_prior", "context_scores", "CHOOSE_BY", "CONTEXT_DECAYS"]

#: what ``popularity_prior: auto`` may choose the weight by (config key ``best.metric``)
CHOOSE_BY = ("hr_at_k", "ndcg_at_k")
#: the decays that ``context_decay: auto`` tries on the validation pairs (1: equal weights)
CONTEXT_DECAYS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)


def evaluate_step(
    embeddings: str,
    vocab: str,
    pairs: str,
    k: int,
    metric: str,
    same_song: str,
    out: str,
    entry: str | None = None,
    logger: logging.Logger = LOG,
    train: str | None = None,
    popularity: float | str = 0.0,
    choose_by: str = "ndcg_at_k",
    context: str | int = "last",
    context_decay: float | str = "auto",
    exclude_context: bool = True,
) -> dict:
    """Score an entry's model on validation (or test) pairs; write HR@k / NDCG@k as JSON.

    ``popularity`` > 0 (an sgns entry's ``popularity_prior``) ranks by similarity plus
    ``popularity * log(1 + count)``, the counts taken from the training sequences
    ``train`` (see :func:`track2vec.models.popularity_prior`). ``popularity="auto"``
    scores the pairs with every weight of :data:`~track2vec.models.AUTO_PRIORS` and keeps
    the one with the highest ``choose_by`` (:func:`choose_prior`). Meant for the
    validation pairs: the test step uses the weight chosen there.

    With ``context`` ``all`` or M (config ``evaluate.context``), the JSON also holds the
    scores from each pair's context (``context``: :func:`context_scores`), with the prior
    kept for the last song; ``last`` leaves the file as the seed's protocol makes it.
    """
    V = vocab_size(vocab)
    check_k(k, V)
    model = load_model(embeddings, V)
    df = read_pairs(pairs)
    name = entry or embeddings
    t0 = time.perf_counter()
    if popularity == "auto" and model.takes_prior:
        scores = choose_prior(
            model, df, train_counts(train, V, "popularity_prior: auto"), k, metric, same_song, choose_by, name, logger
        )
    else:
        prior = song_prior(train, V, popularity, model)  # None for a baseline, whatever its weight
        logger.info(
            "%s: scoring %d pairs against %d songs%s",
            name,
            len(df),
            V,
            f", popularity prior {popularity:g}" if prior is not None else "",
        )
        scores = evaluate_pairs(model, df, k=k, metric=metric, same_song=same_song, progress=logger.info, prior=prior)
    if context != "last":
        weight = scores.get("popularity_prior", popularity) if model.takes_prior else 0.0
        prior = song_prior(train, V, weight, model)
        contexts = read_contexts(train, df, None if context == "all" else int(context))
        scores["context"] = context_scores(
            model, df, contexts, context, context_decay, exclude_context, k, metric, same_song, prior, choose_by,
            name, logger,
        )  # fmt: skip
    # no timing in the file: same inputs -> byte-identical metrics (the benchmark file has the time)
    logger.info("scored %d pairs in %.2f s", len(df), time.perf_counter() - t0)
    if entry is not None:
        scores["entry"] = entry
    logger.info(
        "%s on %s: HR@%d %.4f, NDCG@%d %.4f (%d pairs)",
        name,
        pairs,
        k,
        scores["hr_at_k"],
        k,
        scores["ndcg_at_k"],
        scores["n_pairs"],
    )
    write_json(out, scores)
    return scores


def choose_prior(
    model: Model,
    pairs: pd.DataFrame,
    counts,
    k: int,
    metric: str,
    same_song: str,
    choose_by: str,
    name: str,
    logger: logging.Logger = LOG,
) -> dict:
    """The scores with the best popularity-prior weight of :data:`~track2vec.models.AUTO_PRIORS`.

    Every weight scores the pairs; the one with the highest ``choose_by`` is kept (ties:
    the smaller weight). The result names it (``popularity_prior``) and lists every
    weight's scores (``popularity_prior_scan``).

    Parameters
    ----------
    counts : numpy.ndarray of int, shape (V,)
        Occurrences of each song in the training sequences.

    Raises
    ------
    ConfigError
        ``choose_by`` is not one of :data:`CHOOSE_BY`.
    """
    if choose_by not in CHOOSE_BY:
        raise ConfigError(
            f"config key 'best.metric' must be hr_at_k or ndcg_at_k to choose the popularity prior, got {choose_by!r}"
        )
    logger.info(
        "%s: scoring %d pairs against %d songs with each popularity prior of %s",
        name,
        len(pairs),
        len(counts),
        AUTO_PRIORS,
    )
    scan = []
    for w in AUTO_PRIORS:
        s = evaluate_pairs(model, pairs, k=k, metric=metric, same_song=same_song, prior=popularity_prior(counts, w))
        scan.append(s)
        logger.info("  popularity prior %g: HR@%d %.4f, NDCG@%d %.4f", w, k, s["hr_at_k"], k, s["ndcg_at_k"])
    i = max(range(len(scan)), key=lambda j: (scan[j][choose_by], -j))  # ties: the smaller weight
    logger.info("%s: popularity prior %g chosen (highest %s)", name, AUTO_PRIORS[i], choose_by)
    return {
        **scan[i],
        "popularity_prior": AUTO_PRIORS[i],
        "popularity_prior_scan": [
            {"popularity_prior": w, "hr_at_k": s["hr_at_k"], "ndcg_at_k": s["ndcg_at_k"]}
            for w, s in zip(AUTO_PRIORS, scan)
        ],
    }


def context_scores(
    model: Model,
    pairs: pd.DataFrame,
    contexts: np.ndarray,
    protocol: str | int,
    decay: float | str,
    exclude_context: bool,
    k: int,
    metric: str,
    same_song: str,
    prior,
    choose_by: str,
    name: str,
    logger: logging.Logger = LOG,
) -> dict:
    """The scores of the suggestions made from each pair's context.

    ``decay="auto"`` scores the pairs with every decay of :data:`CONTEXT_DECAYS` and keeps
    the one with the highest ``choose_by`` (ties: the earlier in that list); the result
    lists every decay's scores (``context_decay_scan``).

    Returns
    -------
    dict
        ``protocol`` (``all`` or M), ``exclude_context``, ``context_decay`` (the decay used),
        the scores of :func:`track2vec.metrics.evaluate_pairs`, and with ``auto``
        ``context_decay_scan``.
    """
    if choose_by not in CHOOSE_BY:
        raise ConfigError(f"config key 'best.metric' must be hr_at_k or ndcg_at_k, got {choose_by!r}")
    decays = CONTEXT_DECAYS if decay == "auto" else (float(decay),)
    logger.info("%s: scoring %d pairs from their context (%s) with decays %s", name, len(pairs), protocol, decays)
    scan = []
    for d in decays:
        s = evaluate_pairs(model, pairs, k=k, metric=metric, same_song=same_song, prior=prior, contexts=contexts,
                           decay=d, exclude_context=exclude_context)  # fmt: skip
        scan.append(s)
        logger.info("  context decay %g: HR@%d %.4f, NDCG@%d %.4f", d, k, s["hr_at_k"], k, s["ndcg_at_k"])
    i = max(range(len(scan)), key=lambda j: (scan[j][choose_by], -j))
    out = {"protocol": protocol, "exclude_context": bool(exclude_context), "context_decay": decays[i], **scan[i]}
    if decay == "auto" and len(decays) > 1:
        out["context_decay_scan"] = [
            {"context_decay": d, "hr_at_k": s["hr_at_k"], "ndcg_at_k": s["ndcg_at_k"]} for d, s in zip(decays, scan)
        ]
    return out
