"""Suggestions from a playlist's context (evaluate.context): the pairs' contexts, the weighted
scoring, and its agreement with the last-song protocol for a one-song context."""

import numpy as np
import pandas as pd
import pytest

from track2vec.baselines import Baseline
from track2vec.metrics import evaluate_pairs
from track2vec.models import Embedding, complete_playlists, popularity_prior
from track2vec.split import pair_contexts, split_playlists


@pytest.fixture
def corpus():
    rng = np.random.default_rng(3)
    lengths = rng.integers(2, 12, 400)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    values = rng.integers(0, 60, offsets[-1])
    return offsets, values, split_playlists(offsets, values, n_val=80, n_test=0, seed=1)


def test_a_context_is_the_playlist_before_its_target(corpus):
    offsets, values, sp = corpus
    contexts = pair_contexts(sp.train_offsets, sp.train_values, sp.train_ids, sp.val["playlist"].to_numpy())
    for c, (p, query, target) in zip(contexts, sp.val[["playlist", "query", "target"]].to_numpy()):
        playlist = values[offsets[p] : offsets[p + 1]]
        ctx = c[c >= 0]
        assert ctx.tolist() == playlist[:-1].tolist() and ctx[-1] == query
        # no leak: the target is in its context only where the playlist holds it twice
        assert (target in ctx) == (np.count_nonzero(playlist == target) > 1)
    last3 = pair_contexts(sp.train_offsets, sp.train_values, sp.train_ids, sp.val["playlist"].to_numpy(), last=3)
    assert last3.shape[1] == 3 and (last3[:, -1] >= 0).any()
    for c, full in zip(last3, contexts):
        assert c[c >= 0].tolist() == full[full >= 0][-3:].tolist()
    with pytest.raises(ValueError, match="no training sequence"):
        pair_contexts(sp.train_offsets, sp.train_values, sp.train_ids, np.array([10_000]))


@pytest.mark.parametrize("kind", ["embedding", "cooccurrence", "popularity"])
def test_a_one_song_context_scores_as_the_last_song(corpus, kind):
    """M = 1 is the seed's protocol: the same suggestions and scores, exactly."""
    offsets, values, sp = corpus
    if kind == "embedding":
        model = np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32)
        prior = popularity_prior(np.bincount(sp.train_values, minlength=60), 0.05)
    else:
        model, prior = Baseline.fit(kind, sp.train_offsets, sp.train_values, 60, 2), None
    one = pair_contexts(sp.train_offsets, sp.train_values, sp.train_ids, sp.val["playlist"].to_numpy(), last=1)
    last = evaluate_pairs(model, sp.val, k=5, prior=prior)
    for decay in (0.3, 1.0):
        assert evaluate_pairs(model, sp.val, k=5, prior=prior, contexts=one, decay=decay) == last


def _brute_force(emb, playlist, k, decay, prior, exclude):
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    n = len(playlist)
    score = sum(decay ** (n - 1 - j) * (unit @ unit[s]) for j, s in enumerate(playlist)) + prior
    banned = set(playlist) if exclude else {playlist[-1]}
    order = [int(i) for i in np.lexsort((np.arange(len(emb)), -score)) if int(i) not in banned]
    return order[:k]


@pytest.mark.parametrize("decay", [0.2, 0.7, 1.0])
@pytest.mark.parametrize("exclude", [True, False])
def test_a_context_scores_the_weighted_sum_of_cosines(decay, exclude):
    """Song j of n weighs decay ** (n - 1 - j): a candidate's score is the weighted sum of its
    cosines with the context's songs, plus the prior, exactly as a brute force ranks them."""
    rng = np.random.default_rng(11)
    emb = rng.normal(size=(300, 6)).astype(np.float64)
    prior = 0.05 * np.log1p(rng.integers(0, 100, 300))
    playlists = [rng.choice(300, rng.integers(2, 9), replace=False).tolist() for _ in range(12)]
    P = np.full((12, 8), -1)
    for i, p in enumerate(playlists):
        P[i, : len(p)] = p
    idx, scores = complete_playlists(emb, P, k=7, last=None, decay=decay, prior=prior, exclude_context=exclude)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    for i, p in enumerate(playlists):
        assert idx[i].tolist() == _brute_force(emb, p, 7, decay, prior, exclude)
        weights = decay ** np.arange(len(p) - 1, -1, -1)
        np.testing.assert_allclose(scores[i], (weights @ unit[p]) @ unit[idx[i]].T, atol=1e-12)
    # the last M songs: the earlier ones do not count
    last2, _ = complete_playlists(emb, P, k=7, last=2, decay=decay, prior=prior)
    assert last2[0].tolist() == [s for s in _brute_force(emb, playlists[0][-2:], 9, decay, prior, True)
                                 if s not in playlists[0]][:7]  # fmt: skip


def test_euclidean_context_is_the_weighted_mean_point():
    rng = np.random.default_rng(2)
    emb = rng.normal(size=(50, 4))
    vectors = Embedding(emb).context_vectors(np.array([[3, 7, 9, -1]]), None, 0.5, "euclidean")
    np.testing.assert_allclose(vectors[0], (0.25 * emb[3] + 0.5 * emb[7] + emb[9]) / 1.75)


def test_cooccurrence_context_sums_the_weighted_counts(corpus):
    _, _, sp = corpus
    base = Baseline.fit("cooccurrence", sp.train_offsets, sp.train_values, 60, 2)
    playlist = [5, 9, 14]
    idx, scores = complete_playlists(base, [playlist], k=6, last=None, decay=0.5)
    dense = base.matrix.toarray()
    want = 0.25 * dense[5] + 0.5 * dense[9] + dense[14]
    np.testing.assert_allclose(scores[0], want[idx[0]])
    assert not set(idx[0].tolist()) & set(playlist)
    kept = [j for j in np.lexsort((np.arange(60), -base.counts, -want)) if j not in playlist and want[j] > 0]
    assert idx[0].tolist()[: len(kept[:6])] == kept[:6]


def test_bad_context_arguments():
    emb = np.eye(5, dtype=np.float32)
    with pytest.raises(ValueError, match="decay"):
        complete_playlists(emb, [[0, 1]], k=2, last=None, decay=0)
    with pytest.raises(ValueError, match="last"):
        complete_playlists(emb, [[0, 1]], k=2, last=0)
    pairs = pd.DataFrame({"query": [1], "target": [2]})
    with pytest.raises(ValueError, match="end with its query"):
        evaluate_pairs(emb, pairs, k=2, contexts=np.array([[1, 0]]))
