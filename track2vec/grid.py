"""The grid of experiments: replicate runs, random-search trials, and their summaries.

A *run* is one training of one grid entry. With ``replicates: R`` every embedding
entry is trained R times with seeds ``seed, seed + 1, ...``; the runs are named
``{entry}`` (the first) and ``{entry}+r2`` ... ``{entry}+rR`` (``+`` cannot occur in
an entry name; the separators are :mod:`track2vec.names`). Baselines are deterministic
and run once.

An embedding entry with ``ensemble: M`` (M > 1) is not trained itself: each of its
runs concatenates M *member* trainings, ``{entry}+m1`` ... (run r holds members
``(r - 1) * M + 1`` ... ``r * M``; member i has seed ``seed + i - 1``, and, with
``ensemble_windows: [w1, ..., wM]``, the window of its place in the run). A member whose
training hyperparameters equal those of another run (an entry with the same settings,
or another ensemble's member) is not trained twice: :func:`training_sources` maps it
to that run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .names import EMBEDDING, MEMBER_SEP, REPLICATE_SEP

__all__ = [
    "run_ids",
    "split_run",
    "run_params",
    "search_trials",
    "t_interval",
    "ensemble_members",
    "entry_of",
    "training_params",
    "training_sources",
]


def run_ids(entries: Mapping[str, Mapping], replicates: int = 1) -> list[str]:
    """Every run of every entry, in grid order (replicates of an entry together)."""
    out = []
    for name, hp in entries.items():
        n = replicates if hp.get("method", EMBEDDING) == EMBEDDING else 1
        out += [name] + [f"{name}{REPLICATE_SEP}{i}" for i in range(2, n + 1)]
    return out


def split_run(run: str) -> tuple[str, int]:
    """``("entry", replicate)`` of a run id (replicate 1 for the plain entry name)."""
    if REPLICATE_SEP in run:
        name, rep = run.rsplit(REPLICATE_SEP, 1)
        return name, int(rep)
    return run, 1


def run_params(entries: Mapping[str, Mapping], run: str) -> dict:
    """Hyperparameters of a run: its entry's, with the seed moved by the replicate number."""
    name, rep = split_run(run)
    hp = dict(entries[name])
    hp["seed"] = int(hp["seed"]) + rep - 1
    return hp


def _ensemble_size(hp: Mapping) -> int:
    return int(hp.get("ensemble", 1) or 1)


def ensemble_members(entries: Mapping[str, Mapping], run: str) -> list[str]:
    """Member ids of an ensemble entry's run (``{entry}+m{i}``); empty for any other run.

    Parameters
    ----------
    entries : mapping
        Entry name -> hyperparameters (with ``ensemble``).
    run : str
        A run id, ``{entry}`` or ``{entry}+r{r}``.

    Examples
    --------
    >>> ensemble_members({"e": {"method": "sgns", "ensemble": 3}}, "e+r2")
    ['e+m4', 'e+m5', 'e+m6']
    """
    name, rep = split_run(run)
    hp = entries[name]
    m = _ensemble_size(hp)
    if hp.get("method", EMBEDDING) != EMBEDDING or m < 2:
        return []
    return [f"{name}{MEMBER_SEP}{i}" for i in range((rep - 1) * m + 1, rep * m + 1)]


def entry_of(run: str) -> str:
    """The entry a run id or a member id belongs to."""
    if MEMBER_SEP in run:
        return run.rsplit(MEMBER_SEP, 1)[0]
    return split_run(run)[0]


def training_params(entries: Mapping[str, Mapping], run: str, names) -> dict:
    """The training hyperparameters ``names`` of a trained run or ensemble member: the
    entry's, with the seed moved by the replicate (run) or member number, and a member's
    window taken from the entry's ``ensemble_windows`` when it lists them.

    Examples
    --------
    >>> e = {"e": {"method": "sgns", "seed": 1, "window": 3, "ensemble": 3, "ensemble_windows": [3, 1, 5]}}
    >>> [training_params(e, f"e+m{i}", ("window", "seed")) for i in (1, 2, 6)]
    [{'window': 3, 'seed': 1}, {'window': 1, 'seed': 2}, {'window': 5, 'seed': 6}]
    """
    if MEMBER_SEP in run:
        name, i = run.rsplit(MEMBER_SEP, 1)
        hp = dict(entries[name])
        hp["seed"] = int(hp["seed"]) + int(i) - 1
        windows = hp.get("ensemble_windows")
        if windows:  # member i of every run takes the i-th window of its run's M
            hp["window"] = int(windows[(int(i) - 1) % len(windows)])
    else:
        hp = run_params(entries, run)
    return {h: hp[h] for h in names}


def training_sources(entries: Mapping[str, Mapping], runs, names) -> dict[str, str]:
    """Which training makes the embeddings of each trained run and ensemble member.

    Parameters
    ----------
    entries : mapping
        Entry name -> hyperparameters.
    runs : list of str
        Every run (:func:`run_ids`).
    names : sequence of str
        The hyperparameters that define a training (``track2vec.config.TRAINING``).

    Returns
    -------
    dict
        Id -> id of the run that trains it, for the runs of embedding entries without
        ``ensemble`` (each its own source) and every ensemble member: a member maps to the
        first such run, else the first member, in grid order, with the same training
        hyperparameters, so identical trainings are done once.
    """
    first: dict[tuple, str] = {}
    out = {}
    plain = [
        r
        for r in runs
        if entries[entry_of(r)].get("method", EMBEDDING) == EMBEDDING and not ensemble_members(entries, r)
    ]
    members = [m for r in runs for m in ensemble_members(entries, r)]

    def key(run):
        return tuple(sorted((h, repr(v)) for h, v in training_params(entries, run, names).items()))

    for run in plain:  # always trained (their files are outputs of their own)
        first.setdefault(key(run), run)
        out[run] = run
    for member in members:
        out[member] = first.setdefault(key(member), member)
    return out


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
