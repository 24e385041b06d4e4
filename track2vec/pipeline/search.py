"""Step of the rule search (rules/aggregate.smk): every random-search trial, best first."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from ..atomic import write_text
from .common import LOG
from .tables import best_first, entry_rows

__all__ = ["search_step"]


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
    table = entry_rows(trials, metrics, train_logs)
    table = best_first(table, metric)
    write_text(out, table.to_csv(sep="\t", index=False, float_format="%.6g"))
    logger.info("search trials:\n%s", table.to_string(index=False))
    return table
