"""The grid of experiments: replicate runs, random-search trials, and their summaries.

A *run* is one training of one grid entry. With ``replicates: R`` every embedding
entry is trained R times with seeds ``seed, seed + 1, ...``; the runs are named
``{entry}`` (the first) and ``{entry}+r2`` ... ``{entry}+rR`` (``+`` cannot occur in
an entry name). Baselines are deterministic and run once.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np

__all__ = [
    "EMBEDDING_METHOD",
    "BASELINE_METHODS",
    "run_ids",
    "split_run",
    "run_params",
    "search_trials",
    "t_interval",
    "adjacent_pair_counts",
]

EMBEDDING_METHOD = "sgns"
BASELINE_METHODS = ("popularity", "cooccurrence")
_SEP = "+r"


def run_ids(entries: Mapping[str, Mapping], replicates: int = 1) -> list[str]:
    """Every run of every entry, in grid order (replicates of an entry together)."""
    out = []
    for name, hp in entries.items():
        n = replicates if hp.get("method", EMBEDDING_METHOD) == EMBEDDING_METHOD else 1
        out += [name] + [f"{name}{_SEP}{i}" for i in range(2, n + 1)]
    return out


def split_run(run: str) -> tuple[str, int]:
    """``("entry", replicate)`` of a run id (replicate 1 for the plain entry name)."""
    if _SEP in run:
        name, rep = run.rsplit(_SEP, 1)
        return name, int(rep)
    return run, 1


def run_params(entries: Mapping[str, Mapping], run: str) -> dict:
    """Hyperparameters of a run: its entry's, with the seed moved by the replicate number."""
    name, rep = split_run(run)
    hp = dict(entries[name])
    hp["seed"] = int(hp["seed"]) + rep - 1
    return hp


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of the mean.

    Returns ``(mean, low, high)``; with a single value the interval is that value.
    """
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    mean = float(x.mean())
    if len(x) < 2:
        return mean, mean, mean
    half = float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return mean, mean - half, mean + half


def search_trials(search: Mapping, defaults: Mapping) -> dict[str, dict]:
    """Seeded random-search trials over the ranges of ``search:`` in config.

    Parameters
    ----------
    search : mapping
        ``trials`` (number), ``seed``, and ``ranges``: hyperparameter -> ``[low, high]``
        (integers drawn uniformly; ``subsample`` and ``learning_rate`` log-uniformly;
        ``ns_exponent`` uniformly) or a list of choices (``{choices: [...]}``).
    defaults : mapping
        The values of the hyperparameters not searched.

    Returns
    -------
    dict
        ``search_01`` ... -> the trial's overrides (merged with ``defaults`` by the grid).
    """
    rng = np.random.default_rng(int(search.get("seed", 0)))
    ranges = dict(search.get("ranges", {}))
    out = {}
    n = int(search.get("trials", 0))
    width = max(2, len(str(n)))
    for t in range(1, n + 1):
        trial = {}
        for key in sorted(ranges):
            spec = ranges[key]
            if isinstance(spec, Mapping):
                choices = list(spec["choices"])
                trial[key] = choices[int(rng.integers(len(choices)))]
                continue
            low, high = spec
            if isinstance(defaults.get(key), bool):
                trial[key] = bool(rng.integers(2))
            elif isinstance(low, int) and isinstance(high, int) and not isinstance(defaults.get(key), float):
                trial[key] = int(rng.integers(low, high + 1))
            elif key in ("subsample", "learning_rate") and low > 0:
                trial[key] = float(round(math.exp(rng.uniform(math.log(low), math.log(high))), 8))
            else:
                trial[key] = float(round(rng.uniform(low, high), 4))
        out[f"search_{t:0{width}d}"] = trial
    return out


def adjacent_pair_counts(offsets: np.ndarray, values: np.ndarray, queries: np.ndarray, targets: np.ndarray, n_songs: int) -> np.ndarray:
    """How often each (query, target) pair occurs as consecutive songs (query then target)
    in the training sequences: the paper's measure for cold-start pairs."""
    values = np.asarray(values, dtype=np.int64)
    pl = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    same = pl[1:] == pl[:-1]
    keys = values[:-1][same] * n_songs + values[1:][same]
    uniq, counts = np.unique(keys, return_counts=True)
    want = np.asarray(queries, dtype=np.int64) * n_songs + np.asarray(targets, dtype=np.int64)
    if not len(uniq):
        return np.zeros(len(want), dtype=np.int64)
    pos = np.minimum(np.searchsorted(uniq, want), len(uniq) - 1)
    return np.where(uniq[pos] == want, counts[pos], 0).astype(np.int64)
