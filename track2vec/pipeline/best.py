"""Step of the rule best (rules/aggregate.smk): the entry with the best validation score."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..atomic import write_json
from ..config import HYPERPARAMETERS
from ..errors import ConfigError
from ..names import EMBEDDING, ORACLE
from .common import LOG

__all__ = ["best_step"]


def best_step(grid: str, metric: str, out: str, embeddings_only: bool = False, logger: logging.Logger = LOG) -> dict:
    """Pick the grid entry with the highest validation ``metric``; ties go to the earlier entry.
    The oracle row is never chosen; with ``embeddings_only`` the baselines are not either.

    The choice is made on the last-song protocol (``protocol: last``, the seed's and the
    paper's); with the context protocol, ``best.json`` also holds the entry's context scores
    (``context``: ``protocol``, ``context_decay``, ``hr_at_k``, ``ndcg_at_k``)."""
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
        "protocol": "last",
        "value": float(row[metric]),
        "k": int(row["k"]),
        "hr_at_k": float(row["hr_at_k"]),
        "ndcg_at_k": float(row["ndcg_at_k"]),
        "hyperparameters": {h: _plain(row[h]) for h in HYPERPARAMETERS if h in table.columns and not pd.isna(row[h])},
    }
    if "context" in table.columns and not pd.isna(row["context"]):
        best["context"] = {
            "protocol": _plain(row["context"]),
            "context_decay": _plain(row["context_decay"]) if not pd.isna(row["context_decay"]) else None,
            "hr_at_k": float(row["context_hr_at_k"]),
            "ndcg_at_k": float(row["context_ndcg_at_k"]),
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
