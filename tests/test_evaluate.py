import math
import os
import zlib

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import NearestNeighbors

from track2vec.embeddings import check_embeddings, combine_embeddings
from track2vec.errors import DataError
from track2vec.knn import nearest_neighbours
from track2vec.metrics import evaluate_pairs, hit_ranks, hr_ndcg
from track2vec.models import popularity_prior


def brute(emb, q, k, metric):
    nn = NearestNeighbors(n_neighbors=k + 1, algorithm="brute", metric=metric).fit(emb)
    _, idx = nn.kneighbors(emb[q])
    return np.array([[j for j in row if j != qi][:k] for row, qi in zip(idx, q)])


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("V", [15, 700, 5000])
def test_neighbours_match_brute_force(metric, V):
    rng = np.random.default_rng(V)
    emb = rng.normal(size=(V, 12)).astype(np.float32)
    q = rng.integers(0, V, 300)
    idx, scores = nearest_neighbours(emb, q, k=10, metric=metric, block=64)
    assert (idx == brute(emb, q, 10, metric)).all()
    assert (idx != q[:, None]).all()
    # scores sorted: similarity decreasing (cosine) or distance increasing (euclidean)
    d = np.diff(scores, axis=1)
    assert (d <= 1e-12).all() if metric == "cosine" else (d >= -1e-12).all()


def test_neighbours_exact_with_near_ties():
    # many nearly identical vectors: the float32 bound forces the float64 fallback
    rng = np.random.default_rng(0)
    base = rng.normal(size=(1, 8))
    emb = base + rng.normal(scale=1e-7, size=(2000, 8))
    q = np.arange(50)
    idx, _ = nearest_neighbours(emb, q, k=5)
    e = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    for i, qi in enumerate(q):
        s = e @ e[qi]
        s[qi] = -np.inf
        expect = np.lexsort((np.arange(len(s)), -s))[:5]
        assert list(idx[i]) == list(expect)


def test_neighbours_exclude_and_query_vectors():
    emb = np.eye(6)[:, :6] + 0.1
    emb[1] = emb[0] * 1.01 + 0.001
    idx, _ = nearest_neighbours(emb, np.array([0]), k=2, exclude=np.array([[1, -1]]))
    assert 1 not in idx[0] and 0 not in idx[0]
    qv = emb[[3]]
    idx, _ = nearest_neighbours(emb, np.array([0]), k=1, query_vectors=qv)
    assert idx[0, 0] == 3


def test_neighbours_bad_k():
    with pytest.raises(ValueError, match="vocabulary has 5"):
        nearest_neighbours(np.ones((5, 2)), np.array([0]), k=5)


@pytest.mark.parametrize("setting, expected", [("3", 3), ("1", 1), ("2,1", 2), ("", None), ("auto", None), ("0", None)])
def test_search_threads_follow_the_jobs_allotment(monkeypatch, setting, expected):
    """faiss uses the threads Snakemake gives a job (OMP_NUM_THREADS), else at most 4 of the cores."""
    from track2vec import knn

    monkeypatch.setenv("OMP_NUM_THREADS", setting)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert knn._default_threads() == (min(4, cores) if expected is None else expected)


def test_hit_ranks_and_metrics_hand_computed():
    sugg = np.array([[5, 6, 7], [1, 2, 3], [4, 8, 9], [2, 1, 0]])
    queries = np.array([0, 0, 4, 3])
    targets = np.array([7, 9, 4, 2])
    assert list(hit_ranks(sugg, targets)) == [3, 0, 1, 1]
    # row 2: target == query (4) -> convention
    miss = hr_ndcg(sugg, queries, targets, "miss")
    assert miss["hr_at_k"] == pytest.approx(2 / 4)
    assert miss["ndcg_at_k"] == pytest.approx((1 / math.log2(4) + 1.0) / 4)
    hit = hr_ndcg(sugg, queries, targets, "hit")
    assert hit["hr_at_k"] == pytest.approx(3 / 4)
    assert hit["ndcg_at_k"] == pytest.approx((0.5 + 1 + 1) / 4)
    ex = hr_ndcg(sugg, queries, targets, "exclude")
    assert ex["n_pairs"] == 3 and ex["n_same_song"] == 1
    assert ex["hr_at_k"] == pytest.approx(2 / 3)
    assert miss["k"] == 3 and miss["same_song"] == "miss"


def test_evaluate_pairs_perfect_and_random():
    # songs in pairs (2i, 2i+1) share a direction: the partner is always the nearest
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(50, 16))
    emb = np.repeat(centers, 2, axis=0) + rng.normal(scale=0.01, size=(100, 16))
    pairs = pd.DataFrame({"query": np.arange(0, 100, 2), "target": np.arange(1, 100, 2)})
    s = evaluate_pairs(emb, pairs, k=10)
    assert s["hr_at_k"] == 1.0 and s["ndcg_at_k"] == 1.0
    s = evaluate_pairs(rng.normal(size=(100, 16)), pairs, k=10)
    assert s["hr_at_k"] < 0.5


def test_check_embeddings():
    good = np.zeros((4, 3), dtype=np.float64)
    assert check_embeddings(good, 4).dtype == np.float32
    with pytest.raises(DataError, match="rows"):
        check_embeddings(good, 5, "e.npy")
    bad = good.copy()
    bad[2, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        check_embeddings(bad, 4)
    with pytest.raises(DataError, match="dtype"):
        check_embeddings(np.zeros((4, 3), dtype=np.int32), 4)
    with pytest.raises(DataError, match="2-D"):
        check_embeddings(np.zeros(4), 4)


# --- the faiss index behind nearest_neighbours: exact whatever its float32 candidates ----------


def _reference(emb, q, k, metric, exclude=None, query_vectors=None, prior=None):
    """Float64 brute force on the same prepared vectors: top k by score, ties to the lower index."""
    from track2vec.knn import _prepare

    base, bias, shift = _prepare(emb, metric)
    if prior is not None:
        bias = bias + prior
    out = []
    for i, qi in enumerate(q):
        if query_vectors is None:
            v = base[qi]
        else:
            v = np.asarray(query_vectors[i], dtype=np.float64)
            if metric == "cosine":
                v = v / (np.linalg.norm(v) or 1.0)
            elif shift is not None:
                v = v - shift
        s = base @ v + bias
        s[qi] = -np.inf
        if exclude is not None:
            s[exclude[i][exclude[i] >= 0]] = -np.inf
        out.append(np.lexsort((np.arange(len(s)), -s))[:k])
    return np.array(out)


def _clustered(rng, V, dim, n_clusters=6, spread=0.05):
    centres = rng.normal(size=(n_clusters, dim)) * rng.uniform(0.2, 3.0, size=(n_clusters, 1))
    return centres[rng.integers(0, n_clusters, V)] + spread * rng.normal(size=(V, dim))


@pytest.fixture
def no_margin(monkeypatch):
    """No float32 candidates beyond k + 1 + the exclusions, so that tiny data exercises the
    boundary check (a query whose candidates cannot vouch for its top k is re-scored in full)."""
    import track2vec.knn as ev

    monkeypatch.setattr(ev, "_MARGIN", 0)
    return ev


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("kind", ["random", "clustered", "rare_near_origin"])
def test_indexed_search_is_exact(no_margin, metric, kind):
    rng = np.random.default_rng(zlib.crc32(f"{metric}/{kind}".encode()))  # the same seed in every process
    V, dim = 600, 7
    if kind == "random":
        emb = rng.normal(size=(V, dim))
    elif kind == "clustered":
        emb = _clustered(rng, V, dim)
    else:  # like word2vec: many small near-random vectors, a few large structured ones
        emb = np.concatenate([_clustered(rng, 150, dim), 0.02 * rng.normal(size=(V - 150, dim))])
    emb = emb.astype(np.float32)
    q = rng.integers(0, V, 120)
    for block in (None, 17):
        idx, scores = nearest_neighbours(emb, q, k=10, metric=metric, block=block)
        assert (idx == _reference(emb, q, 10, metric)).all()
        d = np.diff(scores, axis=1)
        assert (d <= 1e-12).all() if metric == "cosine" else (d >= -1e-12).all()


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_indexed_search_exclusions_and_query_vectors(no_margin, metric):
    rng = np.random.default_rng(5)
    V = 300
    emb = _clustered(rng, V, 5, spread=0.2)
    q = rng.integers(0, V, 60)
    excl = rng.integers(0, V, (60, 12))
    excl[rng.random(excl.shape) < 0.3] = -1
    idx, _ = nearest_neighbours(emb, q, k=7, metric=metric, exclude=excl)
    assert (idx == _reference(emb, q, 7, metric, exclude=excl)).all()
    qv = rng.normal(size=(60, 5))
    idx, _ = nearest_neighbours(emb, q, k=7, metric=metric, exclude=excl, query_vectors=qv, block=9)
    assert (idx == _reference(emb, q, 7, metric, exclude=excl, query_vectors=qv)).all()


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_indexed_search_exact_ties_go_to_the_lower_index(no_margin, metric):
    # every vector four times: exactly equal scores, which the lower index must win
    rng = np.random.default_rng(2)
    emb = np.repeat(rng.normal(size=(50, 4)), 4, axis=0)[rng.permutation(200)]
    q = np.arange(0, 200, 3)
    idx, _ = nearest_neighbours(emb, q, k=9, metric=metric)
    assert (idx == _reference(emb, q, 9, metric)).all()


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("V", [2, 3, 9, 40])
def test_indexed_search_k_up_to_v_minus_one(no_margin, metric, V):
    rng = np.random.default_rng(V)
    emb = rng.normal(size=(V, 3))
    q = np.arange(V)
    for k in sorted({1, V // 2 or 1, V - 1}):
        idx, _ = nearest_neighbours(emb, q, k=k, metric=metric)
        assert (idx == _reference(emb, q, k, metric)).all()


def test_indexed_search_dense_fallback_is_exact(no_margin, monkeypatch):
    # an error bound so wide that every query is re-scored against every song
    monkeypatch.setattr(no_margin, "_EPS32", 1.0)
    rng = np.random.default_rng(3)
    emb = _clustered(rng, 400, 6, spread=0.5)
    q = rng.integers(0, 400, 50)
    for metric in ("cosine", "euclidean"):
        idx, _ = nearest_neighbours(emb, q, k=10, metric=metric)
        assert (idx == _reference(emb, q, 10, metric)).all()


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_few_queries_without_an_index_match_the_indexed_search(no_margin, metric):
    """Up to _FEW_QUERIES queries (a radio step) are scored against every song without an index:
    the same neighbours and scores as the same queries searched among many (with faiss)."""
    assert no_margin._FEW_QUERIES >= 3
    rng = np.random.default_rng(11)
    V = 500
    emb = _clustered(rng, V, 6, spread=0.3).astype(np.float32)
    q = rng.integers(0, V, 80)
    excl = rng.integers(0, V, (80, 5))
    excl[rng.random(excl.shape) < 0.3] = -1
    qv = rng.normal(size=(80, 6))
    prior = 0.05 * np.log1p(rng.integers(0, 1000, V))
    for kw in ({}, {"exclude": excl}, {"exclude": excl, "query_vectors": qv}, {"prior": prior}):
        many_idx, many_s = nearest_neighbours(emb, q, k=10, metric=metric, **kw)
        few = {key: v[:3] for key, v in kw.items() if key != "prior"}
        few_idx, few_s = nearest_neighbours(emb, q[:3], k=10, metric=metric, prior=kw.get("prior"), **few)
        assert (few_idx == many_idx[:3]).all()
        np.testing.assert_allclose(few_s, many_s[:3], rtol=0, atol=1e-12)
    ref = _reference(emb, q[:3], 10, metric, exclude=excl[:3])
    assert (nearest_neighbours(emb, q[:3], k=10, metric=metric, exclude=excl[:3])[0] == ref).all()


def test_too_many_exclusions_raise():
    emb = np.random.default_rng(0).normal(size=(6, 3))
    with pytest.raises(ValueError, match="fewer than k"):
        nearest_neighbours(emb, np.array([0]), k=3, exclude=np.array([[1, 2, 3, -1]]))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_indexed_search_all_scores_tie(no_margin, monkeypatch, metric):
    # every song the same vector: the float32 candidates cannot vouch for the top k, the queries
    # are re-scored against every song, and the lowest indices win
    emb = np.tile(np.array([[0.3, -1.0, 2.0]]), (500, 1))
    q = np.array([0, 7, 499])
    idx, _ = nearest_neighbours(emb, q, k=5, metric=metric)
    assert (idx == _reference(emb, q, 5, metric)).all()
    assert list(idx[2]) == [0, 1, 2, 3, 4] and list(idx[0]) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_popularity_prior_ranks_like_float64_brute_force(metric):

    rng = np.random.default_rng(7)
    V = 700
    emb = rng.normal(size=(V, 12)).astype(np.float32)
    counts = rng.zipf(1.5, V) % 5000
    prior = popularity_prior(counts, 0.05)
    q = rng.integers(0, V, 300)
    idx, sc = nearest_neighbours(emb, q, k=10, metric=metric, prior=prior)
    e = emb.astype(np.float64)
    if metric == "cosine":
        e = e / np.linalg.norm(e, axis=1, keepdims=True)
        s = e[q] @ e.T
    else:
        s = -0.5 * ((e[q][:, None, :] - e[None, :, :]) ** 2).sum(axis=2)
    full = s + prior
    full[np.arange(len(q)), q] = -np.inf
    ref = np.lexsort((np.broadcast_to(np.arange(V), full.shape), -full), axis=1)[:, :10]
    assert (idx == ref).all()
    plain = np.take_along_axis(s, ref, axis=1)
    want = plain if metric == "cosine" else np.sqrt(-2 * plain)
    np.testing.assert_allclose(sc, want, atol=1e-9)  # the prior reorders, scores stay similarities/distances
    # the prior changes the ranking towards popular songs
    base, _ = nearest_neighbours(emb, q, k=10, metric=metric)
    assert (base != idx).any()
    assert counts[idx].mean() > counts[base].mean()


def test_popularity_prior_validation():

    assert popularity_prior(np.array([0, 3]), 0.0) is None
    np.testing.assert_allclose(popularity_prior(np.array([0, 3]), 2.0), [0.0, 2 * np.log(4)])
    with pytest.raises(ValueError, match="popularity"):
        popularity_prior(np.array([1]), -0.1)
    with pytest.raises(ValueError, match="prior"):
        nearest_neighbours(np.eye(4, dtype=np.float32), np.array([0]), k=2, prior=np.zeros(3))


def test_song_prior_needs_the_training_counts(tmp_path):
    from track2vec.errors import ConfigError
    from track2vec.models import song_prior

    assert song_prior(None, 5, 0.0) is None
    with pytest.raises(ConfigError, match="popularity_prior"):
        song_prior(None, 5, 0.02)


def test_auto_popularity_prior_keeps_the_best_weight_smallest_on_ties():
    """popularity_prior: auto scores every weight of AUTO_PRIORS and keeps the best; equal scores
    go to the smaller weight. All songs equally similar: without a prior the lowest index comes
    first (a miss), any positive weight puts the most played song (the target) first."""
    from track2vec.models import AUTO_PRIORS
    from track2vec.pipeline.evaluate import choose_prior

    V = 30
    emb = np.ones((V, 4), dtype=np.float32)
    counts = np.ones(V, dtype=np.int64)
    counts[25] = 50
    df = pd.DataFrame({"query": [3, 4, 5], "target": [25, 25, 25]})
    out = choose_prior(emb, df, counts, 1, "cosine", "miss", "hr_at_k", "e")
    assert [s["popularity_prior"] for s in out["popularity_prior_scan"]] == list(AUTO_PRIORS)
    assert out["popularity_prior_scan"][0]["hr_at_k"] == 0.0
    assert out["popularity_prior"] == 0.005 and out["hr_at_k"] == 1.0
    with pytest.raises(Exception, match="best.metric"):
        choose_prior(emb, df, counts, 1, "cosine", "miss", "value", "e")


def test_combined_embedding_cosine_is_the_mean_of_the_members():
    rng = np.random.default_rng(0)
    members = [rng.normal(size=(50, d)) * rng.uniform(0.1, 5, size=(50, 1)) for d in (4, 8, 6)]
    members[1][7] = 0  # a zero row (a song never trained) stays zero, not NaN
    e = combine_embeddings(members)
    assert e.shape == (50, 18) and e.dtype == np.float32
    norms = np.linalg.norm(e, axis=1)
    assert np.allclose(np.delete(norms, 7), 1, atol=1e-6) and np.isfinite(e).all()

    def cos(m):
        n = np.linalg.norm(m, axis=1, keepdims=True)
        u = m / np.where(n > 0, n, 1)
        return u @ u.T

    want = sum(cos(m) for m in members) / 3
    np.testing.assert_allclose(e.astype(np.float64) @ e.T.astype(np.float64), want, atol=1e-5)
    # one member: its cosine geometry unchanged
    np.testing.assert_allclose(
        combine_embeddings(members[:1]) @ combine_embeddings(members[:1]).T, cos(members[0]), atol=1e-5
    )
    with pytest.raises(ValueError, match="different numbers of rows"):
        combine_embeddings([members[0], members[1][:10]])
    with pytest.raises(ValueError, match="at least one"):
        combine_embeddings([])


@pytest.mark.parametrize("metric, best", [("hr_at_k", "search_01"), ("ndcg_at_k", "search_02")])
def test_search_trials_ranked_by_best_metric(tmp_path, metric, best):
    """search.tsv lists the trials best first, and grid.tsv keeps the best one, by best.metric:
    here trial 1 has the higher HR@k and trial 2 the higher NDCG@k."""
    import json

    from track2vec.config import HYPERPARAMETERS
    from track2vec.pipeline.aggregate import aggregate_step
    from track2vec.pipeline.search import search_step

    scores = {"base": (0.30, 0.20), "search_01": (0.50, 0.25), "search_02": (0.40, 0.30)}
    entries = {
        name: {**dict.fromkeys(HYPERPARAMETERS, 1), "method": "sgns", "popularity_prior": 0.0} for name in scores
    }
    metrics, logs = {}, {}
    for name, (hr, ndcg) in scores.items():
        metrics[name] = tmp_path / f"{name}.json"
        metrics[name].write_text(json.dumps({"k": 10, "hr_at_k": hr, "ndcg_at_k": ndcg}))
        logs[name] = tmp_path / f"{name}.tsv"
        logs[name].write_text("epoch\tseconds\n1\t2.0\n")
    trials = ["search_01", "search_02"]
    table = search_step(
        {t: entries[t] for t in trials}, {t: metrics[t] for t in trials}, logs, tmp_path / "search.tsv", metric
    )
    assert list(table["entry"]) == [best, *(t for t in trials if t != best)]
    grid = aggregate_step(entries, metrics, logs, tmp_path / "grid.tsv", trials=trials, metric=metric)
    assert list(grid["entry"]) == ["base", best]
    assert list(pd.read_csv(tmp_path / "grid.tsv", sep="\t")["entry"]) == ["base", best]
