"""End to end: the tiny preset through Snakemake, every output checked; lint; real data."""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, SHARED_ECOMMERCE, SNAKEMAKE, snakemake  # tiny_run: a conftest fixture
from track2vec.config import HYPERPARAMETERS

pytestmark = pytest.mark.workflow


def test_tiny_preset_outputs(tiny_run):
    r = tiny_run
    entries = ["seed_reference", "paper_music2", "window_1"]
    for name in (
        "data/synthetic.npy",
        "data/synthetic_tracks.csv",
        "data/synthetic_model.npz",
        "playlists.parquet",
        "vocab.parquet",
        "corpus.parquet",
        "split/train.parquet",
        "split/val.parquet",
        "split/test.parquet",
    ):
        assert (r / name).stat().st_size > 0, name
    vocab = pd.read_parquet(r / "vocab.parquet")
    assert list(vocab.columns) == ["index", "track_id", "count", "artist_id"]
    assert (vocab["index"] == np.arange(len(vocab))).all()
    assert (np.diff(vocab["count"]) <= 0).all() and vocab["count"].min() >= 2
    assert vocab["track_id"].str.startswith("track_").all() and vocab["artist_id"].str.startswith("artist_").all()
    val, test = pd.read_parquet(r / "split/val.parquet"), pd.read_parquet(r / "split/test.parquet")
    assert len(val) == 300 and len(test) == 300
    assert not set(val["playlist"]) & set(test["playlist"])
    for e in entries:
        emb = np.load(r / "embeddings" / f"{e}.npy")
        assert emb.shape[0] == len(vocab) and np.isfinite(emb).all()
        log = pd.read_csv(r / "train_log" / f"{e}.tsv", sep="\t")
        assert len(log) == 5 and {"epoch", "loss", "pairs_per_second"} <= set(log.columns)
        m = json.loads((r / "metrics" / f"{e}.json").read_text())
        assert m["k"] == 10 and m["n_pairs"] == 300 and m["same_song"] == "miss"
        assert (r / "logs" / "train" / f"{e}.log").exists() and (r / "benchmarks" / "train" / f"{e}.tsv").exists()
    grid = pd.read_csv(r / "grid.tsv", sep="\t")
    # tests/tiny.yaml scores the context protocol too: its columns beside the last song's
    context = ["context", "context_hr_at_k", "context_ndcg_at_k"]
    assert list(grid.columns) == ["entry", *HYPERPARAMETERS, "k", "hr_at_k", "ndcg_at_k", *context, "train_seconds"]
    assert list(grid["entry"]) == ["popularity", "cooccurrence", *entries, "oracle"]
    g = grid.set_index("entry")
    assert list(g["method"]) == ["popularity", "cooccurrence", "sgns", "sgns", "sgns", "oracle"]
    assert bool(g.loc["seed_reference", "tied"]) is True
    # popularity_prior: auto (paper_music2, window_1): the evaluate step scanned the weights and
    # the grid shows the one it kept, whose scores are the entry's; seed_reference has 0
    from track2vec.models import AUTO_PRIORS

    for e in ("paper_music2", "window_1"):
        m = json.loads((r / "metrics" / f"{e}.json").read_text())
        scan = m["popularity_prior_scan"]
        assert [x["popularity_prior"] for x in scan] == list(AUTO_PRIORS)
        assert m["hr_at_k"] == max(x["hr_at_k"] for x in scan)  # best.metric: hr_at_k
        assert float(g.loc[e, "popularity_prior"]) == m["popularity_prior"] in AUTO_PRIORS
        assert g.loc[e, "ndcg_at_k"] == pytest.approx(m["ndcg_at_k"], abs=1e-6)
    assert float(g.loc["seed_reference", "popularity_prior"]) == 0
    assert "popularity_prior_scan" not in json.loads((r / "metrics" / "seed_reference.json").read_text())
    assert g.loc["cooccurrence", "window"] == 3 and pd.isna(g.loc["cooccurrence", "dim"])
    best = json.loads((r / "best.json").read_text())
    eligible = grid[grid["method"] != "oracle"]
    assert best["entry"] == eligible.loc[eligible["hr_at_k"].idxmax(), "entry"]
    score = json.loads((r / "test_score.json").read_text())
    assert {"entry", "k", "hr_at_k", "ndcg_at_k", "n_pairs", "cold_start", "oracle"} <= set(score)
    assert score["entry"] == best["entry"] and score["n_pairs"] == 300
    assert set(score["cold_start"]) == {"0", "2"}
    assert 0 < score["cold_start"]["0"]["n_pairs"] <= score["cold_start"]["2"]["n_pairs"] <= 300
    # the oracle (exact, docs/evaluation.md) bounds every method on validation, and the popularity
    # row is a ranking by count
    assert (eligible["hr_at_k"] <= g.loc["oracle", "hr_at_k"]).all()
    counts = vocab["count"].to_numpy()
    top = np.argsort(-counts, kind="stable")[:11]
    pop_hits = np.mean([t in [s for s in top if s != q][:10] for q, t in zip(val["query"], val["target"])])
    assert abs(g.loc["popularity", "hr_at_k"] - pop_hits) < 0.02
    # the embeddings learnt the planted structure: the best sgns entry far above popularity
    assert grid[grid["method"] == "sgns"]["hr_at_k"].max() > 2 * pop_hits + 0.05
    # every job logged and benchmarked
    for rule in ("synthetic", "load", "vocab", "split", "oracle", "aggregate", "best", "test"):
        assert (r / "logs" / f"{rule}.log").exists() and (r / "benchmarks" / f"{rule}.tsv").exists()


def test_second_run_has_nothing_to_do(tiny_run):
    wd = tiny_run.parents[1]
    out = snakemake(wd, "--configfile", str(ROOT / "tests" / "tiny.yaml"), "-n")
    assert "Nothing to be done" in out.stdout + out.stderr


def test_bad_playlists_file_stops_with_clear_message(tmp_path):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.arange(10))
    proc = snakemake(
        tmp_path, "--configfile", str(ROOT / "tests" / "tiny.yaml"), "--config", f"playlists={bad}", check=False
    )
    assert proc.returncode != 0
    log = (tmp_path / "results" / "tiny" / "logs" / "load.log").read_text()
    assert str(bad) in log and "not an object array" in log
    assert not (tmp_path / "results" / "tiny" / "playlists.parquet").exists()
    proc = snakemake(
        tmp_path,
        "--configfile",
        str(ROOT / "tests" / "tiny.yaml"),
        "--config",
        f"playlists={tmp_path / 'missing.npy'}",
        "-n",
        check=False,
    )
    assert proc.returncode != 0 and "not found" in proc.stdout + proc.stderr


def test_bad_config_names_the_key(tmp_path):
    proc = snakemake(
        tmp_path, "--configfile", str(ROOT / "tests" / "tiny.yaml"), "--config", "min_count=0", "-n", check=False
    )
    assert proc.returncode != 0 and "'min_count'" in proc.stdout + proc.stderr


def test_lint_is_clean():
    proc = subprocess.run(
        [*SNAKEMAKE, "--lint", "-s", str(ROOT / "Snakefile")], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert "Congratulations" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


@pytest.mark.skipif(not SHARED_ECOMMERCE.exists(), reason="../shared/data/ecommerce_sessions.npy is absent")
def test_real_ecommerce_file_end_to_end(tmp_path):
    snakemake(
        tmp_path,
        "--configfile",
        str(ROOT / "tests" / "tiny.yaml"),
        "--config",
        f"playlists={SHARED_ECOMMERCE}",
        "min_count=1",
    )
    r = tmp_path / "results" / "tiny"
    vocab = pd.read_parquet(r / "vocab.parquet")
    assert len(vocab) == 3684 and "useless" not in set(vocab["track_id"])
    assert vocab["artist_id"].isna().all()
    score = json.loads((r / "test_score.json").read_text())
    test = pd.read_parquet(r / "split/test.parquet")
    top = np.argsort(-vocab["count"].to_numpy(), kind="stable")[:11]
    pop = np.mean([t in [s for s in top if s != q][:10] for q, t in zip(test["query"], test["target"])])
    assert score["hr_at_k"] > pop
