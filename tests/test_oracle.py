import numpy as np
import pandas as pd

from track2vec import synthetic
from track2vec.oracle import oracle_rankings, oracle_scores
from track2vec.pipeline.load import load_step
from track2vec.pipeline.split import split_step
from track2vec.pipeline.vocab import vocab_step


def test_oracle_ranking_is_the_generator_kernel(tmp_path):
    ds = synthetic.generate("tiny", seed=0)
    synthetic.write(ds, tmp_path / "s.npy", tmp_path / "s.csv", tmp_path / "s.npz")
    load_step(str(tmp_path / "s.npy"), tmp_path / "p.parquet")
    vocab_step(tmp_path / "p.parquet", 2, tmp_path / "v.parquet", tmp_path / "c.parquet")
    split_step(
        tmp_path / "c.parquet", 300, 300, 4, tmp_path / "t.parquet", tmp_path / "val.parquet", tmp_path / "test.parquet"
    )
    vocab = pd.read_parquet(tmp_path / "v.parquet")
    model = synthetic.load_model(tmp_path / "s.npz")
    lookup = synthetic.token_to_index(model)
    cat = np.array([lookup[t] for t in vocab["track_id"]])
    queries = np.arange(0, len(vocab), 37)
    ranks = oracle_rankings(model, vocab["track_id"].tolist(), queries, k=10)
    for q, row in zip(queries, ranks):
        p = synthetic.next_song_probabilities(model, int(cat[q]))[cat]
        p[q] = -np.inf
        expect = np.lexsort((np.arange(len(p)), -p))[:10]
        assert list(row) == list(expect)
    val = pd.read_parquet(tmp_path / "val.parquet")
    s = oracle_scores(model, vocab, val, k=10)
    # the ceiling is high, and far above a popularity ranking
    pop = np.mean([t in [x for x in range(11) if x != q][:10] for q, t in zip(val["query"], val["target"])])
    assert s["hr_at_k"] > 0.3 and s["hr_at_k"] > 3 * pop
