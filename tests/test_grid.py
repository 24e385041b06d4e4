import numpy as np
import pytest
from scipy import stats

from track2vec.grid import (
    ensemble_members,
    entry_of,
    run_ids,
    run_params,
    search_trials,
    split_run,
    t_interval,
    training_params,
    training_sources,
)
from track2vec.metrics import adjacent_pair_counts


def test_run_ids_and_params():
    entries = {"a": {"method": "sgns", "seed": 3}, "pop": {"method": "popularity", "seed": 1}}
    runs = run_ids(entries, 3)
    assert runs == ["a", "a+r2", "a+r3", "pop"]
    assert split_run("a+r3") == ("a", 3) and split_run("a") == ("a", 1)
    assert run_params(entries, "a+r3")["seed"] == 5 and run_params(entries, "a")["seed"] == 3


def test_t_interval_matches_scipy():
    x = [0.31, 0.29, 0.35, 0.30, 0.33]
    mean, lo, hi = t_interval(x)
    ref = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert mean == pytest.approx(np.mean(x)) and (lo, hi) == pytest.approx(ref)
    assert t_interval([0.5]) == (0.5, 0.5, 0.5)


def test_search_trials_seeded_and_in_range():
    search = {
        "trials": 6,
        "seed": 1,
        "ranges": {
            "window": [1, 9],
            "subsample": [1e-5, 1e-2],
            "ns_exponent": [-1.0, 1.0],
            "tied": {"choices": [True, False]},
        },
    }
    defaults = {"window": 3, "subsample": 1e-5, "ns_exponent": 0.75, "tied": False}
    a, b = search_trials(search, defaults), search_trials(search, defaults)
    assert a == b and list(a) == [f"search_{i:02d}" for i in range(1, 7)]
    for t in a.values():
        assert isinstance(t["window"], int) and 1 <= t["window"] <= 9
        assert 1e-5 <= t["subsample"] <= 1e-2 and -1 <= t["ns_exponent"] <= 1 and t["tied"] in (True, False)
    assert len({tuple(sorted(t.items())) for t in a.values()}) > 1
    assert search_trials({**search, "seed": 2}, defaults) != a


def test_adjacent_pair_counts():
    offsets = np.array([0, 4, 6])
    values = np.array([1, 2, 1, 2, 2, 1])
    c = adjacent_pair_counts(offsets, values, np.array([1, 2, 2, 3]), np.array([2, 1, 2, 1]), 4)
    # 1->2 twice; 2->1 twice (once in each playlist); 2->2 never; 3->1 never (no cross-playlist pairs)
    assert list(c) == [2, 2, 0, 0]


def test_ensemble_members_seeds_and_shared_trainings():
    hp = {"method": "sgns", "dim": 8, "seed": 1, "ensemble": 1}
    entries = {
        "a": hp,
        "a_x3": {**hp, "ensemble": 3},
        "b_x2": {**hp, "dim": 16, "ensemble": 2},
        "a_x2": {**hp, "ensemble": 2},
        "pop": {"method": "popularity", "seed": 1, "ensemble": 3},
    }
    runs = run_ids(entries, 2)
    assert ensemble_members(entries, "a_x3") == ["a_x3+m1", "a_x3+m2", "a_x3+m3"]
    assert ensemble_members(entries, "a_x3+r2") == ["a_x3+m4", "a_x3+m5", "a_x3+m6"]
    assert ensemble_members(entries, "a") == [] and ensemble_members(entries, "pop") == []
    assert entry_of("a_x3+m5") == "a_x3" and entry_of("a_x3+r2") == "a_x3" and entry_of("a") == "a"
    assert training_params(entries, "a_x3+m5", ("seed", "dim")) == {"seed": 5, "dim": 8}
    assert training_params(entries, "a+r2", ("seed",)) == {"seed": 2}
    src = training_sources(entries, runs, ("dim", "seed"))
    # plain runs train themselves; members with a's settings and seeds 1-2 read a's runs
    assert src["a"] == "a" and src["a+r2"] == "a+r2"
    assert src["a_x3+m1"] == "a" and src["a_x3+m2"] == "a+r2" and src["a_x3+m3"] == "a_x3+m3"
    # another ensemble of the same settings shares a_x3's members; other settings do not
    assert [src[m] for m in ensemble_members(entries, "a_x2+r2")] == ["a_x3+m3", "a_x3+m4"]
    assert [src[m] for m in ensemble_members(entries, "b_x2")] == ["b_x2+m1", "b_x2+m2"]
    assert "pop" not in src and "a_x3" not in src  # baselines and ensemble runs are not trainings


def test_ensemble_windows_members_and_reuse():
    hp = {"method": "sgns", "dim": 8, "seed": 1, "window": 3, "ensemble": 1, "ensemble_windows": None}
    entries = {
        "a": hp,
        "mix": {**hp, "ensemble": 3, "ensemble_windows": [3, 1, 5]},
        "w5": {**hp, "window": 5, "seed": 3},
    }
    runs = run_ids(entries, 2)
    got = [training_params(entries, m, ("window", "seed")) for m in ensemble_members(entries, "mix+r2")]
    assert got == [{"window": 3, "seed": 4}, {"window": 1, "seed": 5}, {"window": 5, "seed": 6}]
    assert training_params(entries, "mix+m2", ("window",)) == {"window": 1}
    src = training_sources(entries, runs, ("dim", "window", "seed"))
    # member 1 (window 3, seed 1) is a's run; member 3 (window 5, seed 3) is w5's; member 2 trains
    assert [src[m] for m in ensemble_members(entries, "mix")] == ["a", "mix+m2", "w5"]
