"""Replicates, random search, baselines and best.embeddings_only through the workflow (tiny data)."""

import json

import pandas as pd
import pytest
import yaml

from conftest import ROOT, snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    wd = tmp_path_factory.mktemp("grid")
    cfg = yaml.safe_load((ROOT / "tests" / "tiny.yaml").read_text())
    cfg.update(
        results="results/grid",
        replicates=2,
        cold_start=[0, 1],
        best={"metric": "hr_at_k", "embeddings_only": True},
        search={"enabled": True, "trials": 2, "seed": 3, "ranges": {"window": [1, 4], "ns_exponent": [-0.5, 0.75]}},
        grid={
            "cooccurrence": {"method": "cooccurrence", "window": 2},
            "base": {"epochs": 3},
            "base_x2": {"epochs": 3, "ensemble": 2},
            "base_w31": {"epochs": 3, "ensemble_windows": [3, 1]},
        },
        radio={"seeds": []},
    )
    cfg["defaults"]["epochs"] = 3
    path = wd / "grid.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    snakemake(wd, "--configfile", str(path))
    return wd / "results" / "grid"


def test_replicates_give_intervals(grid_run):
    grid = pd.read_csv(grid_run / "grid.tsv", sep="\t").set_index("entry")
    for col in ("replicates", "hr_ci_low", "hr_ci_high", "ndcg_ci_low", "ndcg_ci_high"):
        assert col in grid.columns
    base = grid.loc["base"]
    assert base["replicates"] == 2 and base["hr_ci_low"] <= base["hr_at_k"] <= base["hr_ci_high"]
    runs = [json.loads((grid_run / "metrics" / f"{r}.json").read_text())["hr_at_k"] for r in ("base", "base+r2")]
    assert base["hr_at_k"] == pytest.approx(sum(runs) / 2, abs=1e-6)
    # the second replicate trained with the next seed: a different embedding
    import numpy as np

    assert not np.array_equal(
        np.load(grid_run / "embeddings" / "base.npy"), np.load(grid_run / "embeddings" / "base+r2.npy")
    )
    # a baseline is deterministic: one run
    assert grid.loc["cooccurrence", "replicates"] == 1


def test_search_trials_and_best_only_among_embeddings(grid_run):
    search = pd.read_csv(grid_run / "search.tsv", sep="\t")
    assert sorted(search["entry"]) == ["search_01", "search_02"]
    assert (search["hr_at_k"].diff().dropna() <= 0).all()  # best first (best.metric: hr_at_k)
    grid = pd.read_csv(grid_run / "grid.tsv", sep="\t")
    assert list(grid["entry"]) == ["cooccurrence", "base", "base_x2", "base_w31", search["entry"].iloc[0], "oracle"]
    best = json.loads((grid_run / "best.json").read_text())
    sgns = grid[grid["method"] == "sgns"]
    assert best["method"] == "sgns" and best["entry"] == sgns.loc[sgns["hr_at_k"].idxmax(), "entry"]
    score = json.loads((grid_run / "test_score.json").read_text())
    assert score["entry"] == best["entry"] and score["replicates"] == 2
    assert score["hr_ci"][0] <= score["hr_at_k"] <= score["hr_ci"][1]
    assert set(score["cold_start"]) == {"0", "1"}
    assert 0 < score["oracle"]["hr_at_k"] <= 1 and score["share_of_oracle"] == pytest.approx(
        score["hr_at_k"] / score["oracle"]["hr_at_k"]
    )


def test_ensemble_combines_members_and_reuses_identical_trainings(grid_run):
    import numpy as np

    from track2vec.embeddings import combine_embeddings

    emb = grid_run / "embeddings"
    # run 1 of base_x2 = seeds 1 and 2 = the runs base and base+r2: read from there, not trained again
    assert not (emb / "base_x2+m1.npy").exists() and not (emb / "base_x2+m2.npy").exists()
    # run 2 = seeds 3 and 4: trained as members of its own
    assert (emb / "base_x2+m3.npy").exists() and (emb / "base_x2+m4.npy").exists()
    for run, members in (("base_x2", ["base", "base+r2"]), ("base_x2+r2", ["base_x2+m3", "base_x2+m4"])):
        combined = np.load(emb / f"{run}.npy")
        want = combine_embeddings([np.load(emb / f"{m}.npy") for m in members])
        np.testing.assert_array_equal(combined, want)
        assert combined.shape[1] == 32 and np.allclose(np.linalg.norm(combined, axis=1), 1, atol=1e-5)
    grid = pd.read_csv(grid_run / "grid.tsv", sep="\t").set_index("entry")
    assert grid.loc["base_x2", "ensemble"] == 2 and grid.loc["base", "ensemble"] == 1
    # its training time is that of all its members (mean over its two runs)
    logs = grid_run / "train_log"
    per_run = [
        sum(pd.read_csv(logs / f"{m}.tsv", sep="\t")["seconds"].sum() for m in ms)
        for ms in (["base", "base+r2"], ["base_x2+m3", "base_x2+m4"])
    ]
    assert grid.loc["base_x2", "train_seconds"] == pytest.approx(np.mean(per_run), abs=2e-3)


def test_ensemble_windows_train_each_member_with_its_window(grid_run):
    """ensemble_windows: [3, 1]: member 1 (window 3, seed 1) is base's run, member 2 trains
    with window 1; run 2's window-3 member (seed 3) is base_x2's, its window-1 member is new."""
    import numpy as np

    from track2vec.embeddings import combine_embeddings

    emb, logs = grid_run / "embeddings", grid_run / "logs" / "train"
    assert not (emb / "base_w31+m1.npy").exists() and not (emb / "base_w31+m3.npy").exists()
    for member, seed in (("base_w31+m2", 2), ("base_w31+m4", 4)):
        text = (logs / f"{member}.log").read_text()
        assert "window=1," in text and f"seed={seed}," in text
    for run, members in (("base_w31", ["base", "base_w31+m2"]), ("base_w31+r2", ["base_x2+m3", "base_w31+m4"])):
        want = combine_embeddings([np.load(emb / f"{m}.npy") for m in members])
        np.testing.assert_array_equal(np.load(emb / f"{run}.npy"), want)
    # a window-1 member forms fewer pairs than base's window 3 (same seed stream, same epochs)
    pairs = {
        m: pd.read_csv(grid_run / "train_log" / f"{m}.tsv", sep="\t")["positive_pairs"].sum()
        for m in ("base", "base_w31+m2")
    }
    assert pairs["base_w31+m2"] < 0.75 * pairs["base"]
    grid = pd.read_csv(grid_run / "grid.tsv", sep="\t").set_index("entry")
    assert grid.loc["base_w31", "ensemble"] == 2 and grid.loc["base_w31", "ensemble_windows"] == "3,1"
    assert pd.isna(grid.loc["base", "ensemble_windows"])
