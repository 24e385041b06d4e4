import numpy as np
import pandas as pd

from track2vec import synthetic
from track2vec.oracle import first_passage_probabilities, oracle_rankings, oracle_scores
from track2vec.pipeline.load import load_step
from track2vec.pipeline.split import split_step
from track2vec.pipeline.vocab import vocab_step


def test_oracle_scores_on_the_pipeline_split(tmp_path):
    ds = synthetic.generate("tiny", seed=0)
    synthetic.write(ds, tmp_path / "s.npy", tmp_path / "s.csv", tmp_path / "s.npz")
    load_step(str(tmp_path / "s.npy"), tmp_path / "p.parquet")
    vocab_step(tmp_path / "p.parquet", 2, tmp_path / "v.parquet", tmp_path / "c.parquet")
    split_step(
        tmp_path / "c.parquet", 300, 300, 4, tmp_path / "t.parquet", tmp_path / "val.parquet", tmp_path / "test.parquet"
    )
    vocab = pd.read_parquet(tmp_path / "v.parquet")
    model = synthetic.load_model(tmp_path / "s.npz")
    queries = np.arange(0, len(vocab), 37)
    ranks = oracle_rankings(model, vocab["track_id"].tolist(), queries, k=10)
    # the first-passage probabilities, ranked: most probable first, the query excluded
    p = first_passage_probabilities(model, vocab["track_id"].tolist(), queries)
    for q, row, pq in zip(queries, ranks, p):
        assert q not in row and list(row) == sorted(row, key=lambda j: (-pq[j], j))
        assert pq[row[-1]] >= np.delete(pq, [*row, q]).max()
    val = pd.read_parquet(tmp_path / "val.parquet")
    s = oracle_scores(model, vocab, val, k=10)
    # the ceiling is high, and far above a popularity ranking
    pop = np.mean([t in [x for x in range(11) if x != q][:10] for q, t in zip(val["query"], val["target"])])
    assert s["hr_at_k"] > 0.3 and s["hr_at_k"] > 3 * pop


def test_first_passage_is_exact_through_rare_songs():
    """Against a dense solve of the whole chain: P = K_VV + K_VF (I - K_FF)^-1 K_FV, with V the
    vocabulary (songs played at least twice) and F the rest of the catalog."""
    ds = synthetic.generate("tiny", seed=0)
    model = ds.model
    lookup = synthetic.token_to_index(model)
    n_tracks = model["track_weight"].size
    counts = np.bincount([lookup[t] for p in ds.playlists for t in p[0::2]], minlength=n_tracks)
    cat = np.flatnonzero(counts >= 2)
    rare = np.flatnonzero(counts < 2)
    assert 0 < len(rare) < n_tracks // 2
    K = np.stack([synthetic.next_song_probabilities(model, i) for i in range(n_tracks)])
    through = K[np.ix_(cat, rare)] @ np.linalg.solve(np.eye(len(rare)) - K[np.ix_(rare, rare)], K[np.ix_(rare, cat)])
    expect = K[np.ix_(cat, cat)] + through
    queries = np.arange(len(cat))
    got = first_passage_probabilities(model, synthetic.track_tokens(model)[cat], queries)
    np.testing.assert_allclose(got, expect, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)
    # the paths through rare songs matter: they change some queries' top 10
    ranks = oracle_rankings(model, synthetic.track_tokens(model)[cat], queries, k=10)
    direct = K[np.ix_(cat, cat)].copy()
    direct[queries, queries] = -np.inf
    one_step = np.lexsort((np.broadcast_to(queries, direct.shape), -direct), axis=1)[:, :10]
    assert (ranks != one_step).any(axis=1).mean() > 0.05
    expect[queries, queries] = -np.inf
    exact = np.lexsort((np.broadcast_to(queries, expect.shape), -expect), axis=1)[:, :10]
    assert (ranks == exact).all()
