"""Step of the rule aggregate (rules/aggregate.smk): the grid table."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import pandas as pd

from ..atomic import write_text
from ..io import read_json
from ..names import ORACLE
from .common import LOG
from .tables import REPLICATE_COLUMNS, best_first, entry_rows

__all__ = ["aggregate_step"]


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
    table = entry_rows(entries, metrics, train_logs)
    is_trial = table["entry"].isin(list(trials))
    if is_trial.any():
        best_trial = best_first(table[is_trial], metric).head(1)
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
