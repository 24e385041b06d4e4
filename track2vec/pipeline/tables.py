"""The grid table's rows, shared by the steps of the rules aggregate and search."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..config import HYPERPARAMETERS
from ..grid import entry_of, t_interval
from ..io import read_json
from ..names import COOCCURRENCE, EMBEDDING, ORACLE, POPULARITY

__all__ = ["APPLIES", "CONTEXT_COLUMNS", "REPLICATE_COLUMNS", "entry_rows", "best_first"]

#: the hyperparameters that mean something for each method (the others are blank in the grid table)
APPLIES = {
    EMBEDDING: set(HYPERPARAMETERS),
    COOCCURRENCE: {"method", "window", "context_decay"},
    POPULARITY: {"method"},
    ORACLE: {"method"},
}
#: the columns of replicate statistics, dropped from the grid table when every entry ran once
REPLICATE_COLUMNS = ["replicates", "hr_ci_low", "hr_ci_high", "ndcg_ci_low", "ndcg_ci_high"]
#: the columns of the context protocol (``evaluate.context``), left out when it is ``last``
CONTEXT_COLUMNS = ["context_decay", "context", "context_hr_at_k", "context_ndcg_at_k"]


def entry_rows(
    entries: Mapping[str, Mapping], metrics: Mapping[str, str], train_logs: Mapping[str, str]
) -> pd.DataFrame:
    """One row per entry: hyperparameters, mean metrics over its runs and their 95% t-intervals;
    with the context protocol, also its scores (``context_hr_at_k``, ``context_ndcg_at_k``, means
    over the runs) and the decay chosen (``context_decay``), else none of :data:`CONTEXT_COLUMNS`."""
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
            hp = {**hp, "popularity_prior": _lower_median(m.get("popularity_prior", 0.0) for m in ms)}
        context = {}
        if all("context" in m for m in ms):
            hp = {**hp, "context_decay": _lower_median(m["context"]["context_decay"] for m in ms)}
            context = {
                "context": str(ms[0]["context"]["protocol"]),
                "context_hr_at_k": float(np.mean([m["context"]["hr_at_k"] for m in ms])),
                "context_ndcg_at_k": float(np.mean([m["context"]["ndcg_at_k"] for m in ms])),
            }
        rows.append(
            {
                "entry": name,
                **{h: _cell(hp[h]) if h in APPLIES[method] else None for h in HYPERPARAMETERS},
                "k": ms[0]["k"],
                "hr_at_k": hr[0],
                "ndcg_at_k": nd[0],
                **context,
                "replicates": len(ms),
                "hr_ci_low": hr[1],
                "hr_ci_high": hr[2],
                "ndcg_ci_low": nd[1],
                "ndcg_ci_high": nd[2],
                "train_seconds": round(float(np.mean(seconds)), 3),
            }
        )
    table = pd.DataFrame(rows)
    if "context" not in table.columns:
        table = table.drop(columns=[c for c in CONTEXT_COLUMNS if c in table.columns])
    return table


def _lower_median(values) -> float:
    """The lower median of numbers: the value a replicated entry keeps of its runs' choices."""
    chosen = sorted(float(v) for v in values)
    return chosen[(len(chosen) - 1) // 2]


def _cell(value):
    """A hyperparameter as a grid-table cell: a list (``ensemble_windows``) as ``3,1,5``."""
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value


def best_first(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows by decreasing ``metric``, ties in their order: search.tsv's order, whose first trial is grid.tsv's."""
    return table.sort_values(metric, ascending=False, kind="stable")
