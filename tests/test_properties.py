"""Property-based tests (hypothesis) over the readers and the metrics."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import save_object_array
from track2vec.io import read_playlists
from track2vec.knn import nearest_neighbours
from track2vec.metrics import hit_ranks, hr_ndcg
from track2vec.vocab import build_vocabulary

ids = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
playlists = st.lists(st.lists(ids, min_size=0, max_size=12), min_size=1, max_size=15)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(playlists, st.data())
def test_deezer_npy_round_trip(tmp_path, lists, data):
    """Any track ids (unicode, long) written in the Deezer layout come back unchanged, in order."""
    lists = [x for x in lists]
    tokens = [[x for t in p for x in (f"track_{t}", f"artist_{len(t)}")] for p in lists]
    if not any(tokens):
        return
    path = save_object_array(tmp_path / f"p{data.draw(st.integers(0, 10**9))}.npy", tokens)
    pl = read_playlists(path)
    assert pl.to_lists() == [[f"track_{t}" for t in p] for p in lists]
    assert pl.artists.to_pylist() == [f"artist_{len(t)}" for p in lists for t in p]


@SETTINGS
@given(playlists, st.data())
def test_long_table_round_trip(tmp_path, lists, data):
    rows = [(f"p{i:03d}", j, t) for i, p in enumerate(lists) for j, t in enumerate(p)]
    if not rows:
        return
    df = pd.DataFrame(rows, columns=["playlist_id", "position", "track_id"]).sample(frac=1, random_state=0)
    path = tmp_path / f"t{data.draw(st.integers(0, 10**9))}.parquet"
    df.to_parquet(path)
    pl = read_playlists(path)
    assert pl.to_lists() == [p for p in lists if p]


@SETTINGS
@given(playlists, st.integers(1, 4))
def test_vocabulary_invariants(lists, min_count):
    from test_vocab_split import make_playlists

    pl = make_playlists(lists)
    if len(pl.tracks) == 0:
        return
    v = build_vocabulary(pl, min_count)
    counts = pd.Series([t for p in lists for t in p]).value_counts()
    kept = counts[counts >= min_count]
    assert set(v.table["track_id"]) == set(kept.index)
    assert (np.diff(v.table["count"]) <= 0).all()
    assert dict(zip(v.table["track_id"], v.table["count"])) == kept.to_dict()
    # encoding = the playlists without the rare tracks
    names = v.table["track_id"].to_numpy()
    enc = [[names[i] for i in v.values[a:b]] for a, b in zip(v.offsets[:-1], v.offsets[1:])]
    assert enc == [[t for t in p if counts[t] >= min_count] for p in lists]


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 40), st.integers(1, 8), st.integers(0, 2**31), st.sampled_from(["cosine", "euclidean"]))
def test_neighbours_are_the_best_k(V, dim, seed, metric):
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(V, dim))
    k = int(rng.integers(1, V))
    q = rng.integers(0, V, 5)
    idx, scores = nearest_neighbours(emb, q, k=k, metric=metric)
    for row, s, qi in zip(idx, scores, q):
        assert qi not in row and len(set(row)) == k
        if metric == "cosine":
            e = emb / np.where(
                np.linalg.norm(emb, axis=1, keepdims=True) == 0, 1, np.linalg.norm(emb, axis=1, keepdims=True)
            )
            all_s = e @ e[qi]
            all_s[qi] = -np.inf
            # nothing outside beats the k-th
            outside = np.delete(all_s, list(row) + [qi])
            assert outside.size == 0 or outside.max() <= s[-1] + 1e-9
        else:
            d = np.linalg.norm(emb - emb[qi], axis=1)
            d[qi] = np.inf
            outside = np.delete(d, list(row) + [qi])
            assert outside.size == 0 or outside.min() >= s[-1] - 1e-9


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.integers(1, 10), st.integers(0, 2**31), st.sampled_from(["miss", "hit", "exclude"]))
def test_metrics_bounds_and_consistency(n, k, seed, conv):
    rng = np.random.default_rng(seed)
    V = k + 5
    sugg = np.array([rng.permutation(V)[:k] for _ in range(n)])
    queries = rng.integers(0, V, n)
    targets = rng.integers(0, V, n)
    m = hr_ndcg(sugg, queries, targets, conv)
    assert 0 <= m["ndcg_at_k"] <= m["hr_at_k"] <= 1
    ranks = hit_ranks(sugg, targets)
    assert ((ranks >= 0) & (ranks <= k)).all()
    for r, s, t in zip(ranks, sugg, targets):
        assert (r == 0) == (t not in s)
        if r:
            assert s[r - 1] == t
    expected_n = n - int((queries == targets).sum()) if conv == "exclude" else n
    assert m["n_pairs"] == expected_n
