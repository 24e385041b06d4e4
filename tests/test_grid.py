import numpy as np
import pytest
from scipy import stats

from track2vec.grid import adjacent_pair_counts, run_ids, run_params, search_trials, split_run, t_interval


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
    search = {"trials": 6, "seed": 1, "ranges": {"window": [1, 9], "subsample": [1e-5, 1e-2], "ns_exponent": [-1.0, 1.0], "tied": {"choices": [True, False]}}}
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
