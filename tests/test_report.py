"""The Snakemake report: its figures (library), `snakemake --report` on the tiny run, and the
report in headless Chromium (screenshots kept under results/screenshots/)."""

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest

from conftest import CHROMEDRIVER, CHROMIUM, ROOT, needs_chromium, snakemake  # tiny_run: a conftest fixture
from track2vec import report as rep
from track2vec.knn import nearest_neighbours

PNG = b"\x89PNG\r\n\x1a\n"
REPORT_FILES = [
    "grid.html",
    "scores.png",
    "hyperparameters.png",
    "loss.png",
    "test_score.png",
    "test_score.html",
    "embedding_map.png",
]


def _grid(replicates=False):
    rows = [
        {
            "entry": "popularity",
            "method": "popularity",
            "window": None,
            "ns_exponent": None,
            "dim": None,
            "tied": None,
            "hr_at_k": 0.05,
            "ndcg_at_k": 0.02,
        },
        {
            "entry": "cooc",
            "method": "cooccurrence",
            "window": 3,
            "ns_exponent": None,
            "dim": None,
            "tied": None,
            "hr_at_k": 0.3,
            "ndcg_at_k": 0.2,
        },
        {
            "entry": "base",
            "method": "sgns",
            "window": 3,
            "ns_exponent": 0.75,
            "dim": 16,
            "tied": False,
            "hr_at_k": 0.35,
            "ndcg_at_k": 0.22,
        },
        {
            "entry": "w1",
            "method": "sgns",
            "window": 1,
            "ns_exponent": 0.75,
            "dim": 16,
            "tied": False,
            "hr_at_k": 0.25,
            "ndcg_at_k": 0.15,
        },
        {
            "entry": "ns0",
            "method": "sgns",
            "window": 3,
            "ns_exponent": 0.0,
            "dim": 16,
            "tied": False,
            "hr_at_k": 0.32,
            "ndcg_at_k": 0.21,
        },
        {
            "entry": "oracle",
            "method": "oracle",
            "window": None,
            "ns_exponent": None,
            "dim": None,
            "tied": None,
            "hr_at_k": 0.5,
            "ndcg_at_k": 0.4,
        },
    ]
    g = pd.DataFrame(rows)
    g["k"] = 10
    if replicates:
        g["replicates"] = [1, 1, 3, 3, 3, 1]
        for p, m in (("hr", "hr_at_k"), ("ndcg", "ndcg_at_k")):
            g[f"{p}_ci_low"] = g[m] - 0.02
            g[f"{p}_ci_high"] = g[m] + 0.02
    return g


@pytest.mark.parametrize("replicates", [False, True])
def test_figures_and_tables_from_tables(tmp_path, replicates):
    g = _grid(replicates)
    defaults = {"window": 3, "ns_exponent": 0.75, "dim": 16, "tied": False}
    assert rep.varying_hyperparameters(g) == ["window", "ns_exponent"]
    rep.scores_figure(g, tmp_path / "scores.png", best="base")
    rep.hyperparameter_figure(g, defaults, tmp_path / "hp.png")
    logs = {
        "base": pd.DataFrame({"epoch": [1, 2], "loss": [0.9, 0.7]}),
        "base+r2": pd.DataFrame({"epoch": [1, 2], "loss": [0.95, 0.72]}),
        "popularity": pd.DataFrame({"epoch": [1], "seconds": [0.1]}),
    }
    rep.loss_figure(logs, tmp_path / "loss.png")
    score = {
        "entry": "base",
        "method": "sgns",
        "k": 10,
        "hr_at_k": 0.4,
        "ndcg_at_k": 0.25,
        "n_pairs": 300,
        "cold_start": {"0": {"n_pairs": 100, "hr_at_k": 0.1, "ndcg_at_k": 0.05}, "2": {"n_pairs": 0}},
        "oracle": {"hr_at_k": 0.5, "ndcg_at_k": 0.4},
        "share_of_oracle": 0.8,
    }
    if replicates:
        score.update(replicates=3, hr_ci=[0.38, 0.42], ndcg_ci=[0.24, 0.26])
    else:  # the context protocol's test score, beside the last song's
        score["context"] = {"protocol": "all", "context_decay": 0.3, "hr_at_k": 0.4567, "ndcg_at_k": 0.3}
        score["context"]["n_pairs"] = 300
    rep.test_figure(score, tmp_path / "test.png")
    rep.test_table_html(score, tmp_path / "test.html")
    rep.grid_table_html(g, tmp_path / "grid.html", best="base")
    for name in ("scores.png", "hp.png", "loss.png", "test.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 5000, name
    page = (tmp_path / "grid.html").read_text()
    assert all(e in page for e in g["entry"]) and '<tr class="best">' in page and 'class="oracle"' in page
    assert "80.0% of the oracle" in (tmp_path / "test.html").read_text()
    assert ("context (all, decay 0.3)" in (tmp_path / "test.html").read_text()) is (not replicates)
    assert ("0.4567" in (tmp_path / "test.html").read_text()) is (not replicates)
    # same inputs, same bytes (no timestamps or versions in the PNGs)
    first = (tmp_path / "scores.png").read_bytes()
    rep.scores_figure(g, tmp_path / "scores.png", best="base")
    assert (tmp_path / "scores.png").read_bytes() == first


def test_map_entry_pca_and_labels(tmp_path):
    g = _grid()
    assert rep.best_embedding_entry(g, {"entry": "w1"}) == "w1"
    assert rep.best_embedding_entry(g, {"entry": "cooc"}) == "base"  # best is a baseline: best sgns entry
    assert rep.best_embedding_entry(g[g["method"] != "sgns"], {"entry": "cooc"}) is None
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 8)) * np.array([5, 2, 1, 1, 1, 1, 1, 1])
    a, b = rep.pca_2d(x), rep.pca_2d(x.copy())
    assert a.shape == (50, 2) and np.array_equal(a, b)
    assert a[:, 0].var() > a[:, 1].var()
    vocab = pd.DataFrame(
        {
            "index": range(4),
            "track_id": ["track_1", "track_2", "track_3", "track_4"],
            "count": [9, 5, 3, 2],
            "artist_id": ["artist_7", "artist_8", "", None],
        }
    )
    meta = pd.DataFrame({"track_id": ["track_2"], "name": ["Léa Moreau"]})
    labels, kind = rep.map_labels(vocab, 4, metadata=meta)
    assert kind == "artist" and labels == ["artist_7", "Léa Moreau", "unknown", "unknown"]
    gen = {
        "track_ids": np.array([3, 1, 2, 4]),
        "track_artist": np.array([0, 1, 1, 0]),
        "artist_genre": np.array([5, 2]),
    }
    labels, kind = rep.map_labels(vocab, 3, generator=gen)
    assert kind == "genre" and labels == ["genre 2", "genre 2", "genre 5"]
    rep.embedding_map(rng.normal(size=(4, 3)), labels + ["genre 2"], tmp_path / "map.png", "base")
    assert (tmp_path / "map.png").read_bytes().startswith(PNG)


def test_evaluation_progress_lines_are_few_and_change_nothing():
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(1200, 8)).astype(np.float32)
    queries = rng.permutation(1200)[:1000]  # distinct: repeated query songs are searched once
    lines = []
    idx, sc = nearest_neighbours(emb, queries, k=5, block=10, progress=lines.append)
    idx0, sc0 = nearest_neighbours(emb, queries, k=5, block=10)
    assert np.array_equal(idx, idx0) and np.array_equal(sc, sc0)
    # 100 blocks: a line every 10 blocks, not after the last
    assert len(lines) == 9 and lines[0].startswith("nearest neighbours: 100/1,000 queries (10%)")
    assert "block 90/100" in lines[-1]
    quiet = []
    nearest_neighbours(emb, queries[:10], k=5, block=10, progress=quiet.append)
    assert quiet == []  # one block: silent
    few = []
    nearest_neighbours(emb, queries[:30], k=5, block=10, progress=few.append)
    assert len(few) == 2


def _embedded_files(page: str) -> dict:
    """name -> bytes of every result embedded in a Snakemake report (base64 data URIs)."""
    out = {}
    for m in re.finditer(r'"data_uri": "data:([^;"]+);charset=utf8;filename=([^;"]+);base64,([A-Za-z0-9+/=]+)"', page):
        out[m.group(2)] = base64.b64decode(m.group(3))
    return out


@pytest.fixture(scope="module")
def report_html(tiny_run):
    wd = tiny_run.parents[1]
    out = wd / "report.html"
    snakemake(wd, "--configfile", str(ROOT / "tests" / "tiny.yaml"), "--report", str(out))
    return out


def test_report_holds_the_table_and_the_images(tiny_run, report_html):
    page = report_html.read_text(encoding="utf-8")
    for category in ("1. Grid", "2. Training", "3. Test score", "4. Embedding", "5. Radio"):
        assert category in page
    assert "song embeddings learnt from playlists" in page  # the workflow description
    files = _embedded_files(page)
    assert set(REPORT_FILES) | {"holy-planet.html", "train-of-sky.html"} <= set(files)
    for name in REPORT_FILES:
        assert files[name] == (tiny_run / "report" / name).read_bytes(), name
        if name.endswith(".png"):
            assert files[name].startswith(PNG) and len(files[name]) > 5000, name
    grid = pd.read_csv(tiny_run / "grid.tsv", sep="\t")
    table = files["grid.html"].decode()
    best = json.loads((tiny_run / "best.json").read_text())["entry"]
    assert all(f"<td>{e}</td>" in table for e in grid["entry"])
    assert f'<tr class="best"><td>{best}</td>' in table
    for hr in grid["hr_at_k"]:
        assert f"<td>{hr:.4g}</td>" in table
    score = json.loads((tiny_run / "test_score.json").read_text())
    test_table = files["test_score.html"].decode()
    assert f"{score['hr_at_k']:.4g}" in test_table and "cold start" in test_table
    assert "Holy Planet" in files["holy-planet.html"].decode()
    log = (tiny_run / "logs" / "report.log").read_text()
    assert "map: 500 most frequent songs of" in log and "by genre" in log


def _clicked(driver, xpath: str) -> bool:
    """Click the element at ``xpath`` once it exists: scrolled into view and clicked by
    script, so a panel still sliding over it (the report animates its lists) cannot take
    the click."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.XPATH, xpath)
    if not found:
        return False
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", found[0])
    return True


@needs_chromium
def test_report_in_chromium(report_html, tmp_path):
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chrome-profile'}",
    ):
        opts.add_argument(flag)
    shots = ROOT / "results" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(60)
        driver.get(report_html.as_uri())
        wait = WebDriverWait(driver, 30, poll_frequency=0.2)
        wait.until(lambda d: "1. Grid" in d.find_element(By.TAG_NAME, "body").text)
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "song embeddings learnt from playlists" in body and "5. Radio" in body
        driver.save_screenshot(str(shots / "report.png"))
        # open the validation scores figure: the report shows the embedded PNG
        driver.find_element(By.XPATH, "//*[normalize-space(text())='1. Grid']").click()
        eye = "//tr[td[normalize-space(text())='validation scores']]//a[@iconname='eye']"
        wait.until(lambda d: _clicked(d, eye))
        wait.until(
            lambda d: any(
                (img.get_attribute("src") or "").startswith("data:image/png")
                and d.execute_script("return arguments[0].naturalWidth", img) > 100
                for img in d.find_elements(By.TAG_NAME, "img")
            )
        )
        driver.save_screenshot(str(shots / "report_scores.png"))
    finally:
        driver.quit()
    for name in ("report.png", "report_scores.png"):
        assert (shots / name).read_bytes().startswith(PNG) and (shots / name).stat().st_size > 10000
