import numpy as np

from track2vec.baselines import cooccurrence_matrix, cooccurrence_suggest, popularity_counts, popularity_suggest


def csr(lists):
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in lists])]).astype(np.int64)
    return offsets, np.concatenate(lists).astype(np.int32)


def test_cooccurrence_weights_hand_computed():
    offsets, values = csr([[0, 1, 2, 3], [2, 0]])
    m = cooccurrence_matrix(offsets, values, 5, window=2).toarray()
    # 0-1 at distance 1; 0-2 at distance 2 (first playlist) and 1 (second); 1-3 at 2
    assert m[0, 1] == m[1, 0] == 1.0
    assert m[0, 2] == m[2, 0] == 1.5
    assert m[1, 3] == 0.5 and m[0, 3] == 0.0
    assert m[4].sum() == 0
    assert (m == m.T).all()


def test_cooccurrence_does_not_cross_playlists():
    offsets, values = csr([[0, 1], [2, 3]])
    m = cooccurrence_matrix(offsets, values, 4, window=3).toarray()
    assert m[1, 2] == 0 and m[0, 3] == 0


def test_cooccurrence_suggest_order_ties_and_fill():
    offsets, values = csr([[0, 1, 2], [0, 3], [4, 4, 4, 4, 1]])
    counts = popularity_counts(offsets, values, 6)
    m = cooccurrence_matrix(offsets, values, 6, window=1)
    # neighbours of 0: 1 (w 1) and 3 (w 1): tie -> more popular first (1 occurs 2x, 3 once);
    # then popularity fills: 4 (4x), 2, 5...
    s = cooccurrence_suggest(m, counts, np.array([0]), k=4)
    assert list(s[0]) == [1, 3, 4, 2]
    s = cooccurrence_suggest(m, counts, np.array([0]), k=3, exclude=np.array([[1, -1]]))
    assert list(s[0]) == [3, 4, 2]


def test_popularity_suggest_excludes_query():
    counts = np.array([5, 9, 1, 9])
    s = popularity_suggest(counts, np.array([1, 2]), k=2)
    assert list(s[0]) == [3, 0] and list(s[1]) == [1, 3]


def test_baseline_through_complete_playlists_and_save_load(tmp_path):
    import pandas as pd

    from track2vec.baselines import Baseline
    from track2vec.metrics import evaluate_pairs
    from track2vec.models import complete_playlists

    offsets, values = csr([[0, 1, 2], [0, 3], [4, 4, 4, 4, 1]])
    b = Baseline.fit("cooccurrence", offsets, values, 6, window=1)
    b.save(tmp_path / "b.npz")
    b2 = Baseline.load(tmp_path / "b.npz")
    idx, scores = complete_playlists(b2, [[2, 0]], k=3)
    assert list(idx[0]) == [1, 3, 4]  # 2 is in the playlist, 0 is the query
    assert list(scores[0][:2]) == [1.0, 1.0]
    pop = Baseline.fit("popularity", offsets, values, 6)
    s = evaluate_pairs(pop, pd.DataFrame({"query": [0, 4], "target": [4, 1]}), k=1)
    assert s["hr_at_k"] == 0.5  # 4 is the most popular; for query 4 the top is 1
