"""Embeddings for other tools (word2vec text and binary, TensorBoard's projector, parquet): the library,
the step, the rule and ``track2vec export``; and what a job shows a person: its log lines and stderr
free of TensorFlow's start-up lines and of source paths, and the trainer's device."""

import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import asdict

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, snakemake
from track2vec import cli
from track2vec.catalog import Catalog
from track2vec.config import TRAINING
from track2vec.errors import DataError
from track2vec.export import EXPORT_FILES, METADATA_HEADER, choose_entry, export_paths, write_export
from track2vec.pipeline.export import export_step
from track2vec.recommend import Recommender
from track2vec.scripting import run
from track2vec.train import TrainParams

gensim_models = pytest.importorskip("gensim.models")
KeyedVectors = gensim_models.KeyedVectors

#: a line of TensorFlow's own log (absl or TensorFlow format), or absl's preamble, or a Python
#: warning as Python prints it (``path.py:12: UserWarning: ...``)
TF_LINE = re.compile(r"oneDNN|absl|^[IWEF]\d{4} \d\d:\d\d:\d\d|^\d{4}-\d\d-\d\d [\d:.]+: [IWEF] ", re.MULTILINE)
SOURCE_PATH_WARNING = re.compile(r"\.py:\d+: \w*Warning")
#: a line of the project's own log: time, rule, level, message
PROJECT_LINE = re.compile(r"^\d\d:\d\d:\d\d \w+ (INFO|WARNING|ERROR) ")


# ---------------------------------------------------------------------------------- a small model
@pytest.fixture
def songs():
    """30 songs, most frequent first; song 3 has no artist, song 4 no title, song 5 a tab in its title."""
    V = 30
    vocab = pd.DataFrame(
        {
            "index": np.arange(V),
            "track_id": [f"track_{1000 + i}" for i in range(V)],
            "count": np.arange(V, 0, -1) * 3,
            "artist_id": ["" if i == 3 else f"artist_{i % 4}" for i in range(V)],
        }
    )
    meta = pd.DataFrame(
        {
            "track_id": [f"track_{1000 + i}" for i in range(V) if i != 4],
            "title": ["Tab\there" if i == 5 else f"Song {i}" for i in range(V) if i != 4],
            "name": [f"Artist {i % 4}" for i in range(V) if i != 4],
            "preview": ["" for i in range(V) if i != 4],
        }
    )
    return Catalog(vocab, meta).songs


@pytest.fixture
def matrix(songs):
    rng = np.random.default_rng(3)
    m = rng.normal(scale=0.05, size=(len(songs), 12)).astype(np.float32)
    m[0, 0] = 1.0e-7  # a number that needs an exponent
    m[1, 1] = -123.456
    return m


@pytest.fixture
def exported(tmp_path, songs, matrix):
    paths = export_paths(tmp_path / "export")
    manifest = write_export(matrix, songs, paths, top=10, info={"entry": "small"})
    return paths, manifest


# ---------------------------------------------------------------------------------- the formats
@pytest.mark.parametrize("kind, binary", [("text", False), ("binary", True)])
def test_gensim_reads_the_word2vec_files_as_they_are(exported, songs, matrix, kind, binary):
    paths, _ = exported
    kv = KeyedVectors.load_word2vec_format(paths[kind], binary=binary)
    assert kv.index_to_key == songs["track_id"].tolist()
    assert kv.vectors.dtype == np.float32 and np.array_equal(kv.vectors, matrix)  # exactly the same vectors


def test_word2vec_layout(exported, matrix):
    paths, _ = exported
    lines = paths["text"].read_text().splitlines()
    assert lines[0] == "30 12" and len(lines) == 31
    assert lines[1].split(" ")[0] == "track_1000" and len(lines[1].split(" ")) == 13
    raw = paths["binary"].read_bytes()
    assert raw.startswith(b"30 12\ntrack_1000 ")
    row = raw[len(b"30 12\ntrack_1000 ") :][: 4 * 12]
    assert np.array_equal(np.frombuffer(row, "<f4"), matrix[0])
    assert len(raw) == len(b"30 12\n") + sum(len(f"track_{1000 + i} ") + 4 * 12 + 1 for i in range(30))


def test_most_similar_equals_suggest_in_cosine_without_a_prior(exported, songs, matrix):
    paths, _ = exported
    kv = KeyedVectors.load_word2vec_format(paths["binary"], binary=True)
    vocab = songs[["index", "track_id", "count", "artist_id"]]
    rec = Recommender(vocab, matrix, metric="cosine")
    assert rec.prior is None
    for query in range(len(songs)):
        idx, scores = rec.suggest_indices([query], n=10)
        similar = kv.most_similar(songs["track_id"].iloc[query], topn=10)
        assert [k for k, _ in similar] == songs["track_id"].iloc[idx].tolist()
        np.testing.assert_allclose([s for _, s in similar], scores, atol=1e-5)


def test_projector_files(exported, songs, matrix):
    paths, manifest = exported
    vectors = np.loadtxt(paths["vectors"], delimiter="\t", ndmin=2)
    assert vectors.shape == (10, 12) and np.allclose(vectors, matrix[:10], rtol=1e-5, atol=1e-12)
    meta = pd.read_csv(paths["metadata"], sep="\t", dtype=str, keep_default_na=False)
    assert tuple(meta.columns) == METADATA_HEADER and len(meta) == 10  # header row, then the 10 most frequent
    assert meta["track_id"].tolist() == songs["track_id"].iloc[:10].tolist()
    assert meta.loc[0, "title"] == "Song 0" and meta.loc[0, "artist"] == "Artist 0" and meta.loc[0, "count"] == "90"
    assert meta.loc[4, "title"] == "track_1004"  # no title: the track id, as suggest shows it
    assert meta.loc[5, "title"] == "Tab here"  # a tab would break the row
    assert manifest["projector_songs"] == 10


def test_parquet_reads_with_pyarrow_and_pandas(exported, songs, matrix):
    paths, _ = exported
    table = pq.read_table(paths["parquet"])
    assert table.column_names == ["track_id", "artist_id", "count", "vector"]
    assert table.schema.field("vector").type == pa.list_(pa.float32(), 12)  # a fixed-size list
    assert np.array_equal(table["vector"].combine_chunks().flatten().to_numpy().reshape(-1, 12), matrix)
    df = pd.read_parquet(paths["parquet"])
    assert np.array_equal(np.stack(df["vector"]), matrix)
    assert df["track_id"].tolist() == songs["track_id"].tolist() and df["count"].tolist() == songs["count"].tolist()
    assert (
        table["artist_id"][3].as_py() is None
        and pd.isna(df.loc[3, "artist_id"])
        and df.loc[0, "artist_id"] == "artist_0"
    )


def test_manifest_and_nothing_else(exported):
    paths, manifest = exported
    assert sorted(p.name for p in paths["manifest"].parent.iterdir()) == sorted(EXPORT_FILES.values())
    assert json.loads(paths["manifest"].read_text()) == manifest
    assert manifest["entry"] == "small" and manifest["songs"] == 30 and manifest["dim"] == 12


def test_top_above_the_vocabulary_takes_every_song(tmp_path, songs, matrix):
    manifest = write_export(matrix, songs, export_paths(tmp_path), top=1000)
    assert manifest["projector_songs"] == 30
    with pytest.raises(ValueError, match="top"):
        write_export(matrix, songs, export_paths(tmp_path), top=0)


def test_a_track_id_with_spaces_is_percent_encoded_in_the_word2vec_keys(tmp_path, songs, matrix):
    """Real item ids hold spaces (the e-commerce file: 'BANK CHARGES'): the word2vec files encode
    them, gensim reads them, unquote gives the id back; the other files keep the id as it is."""
    from urllib.parse import unquote

    from gensim.models import KeyedVectors

    from track2vec.export import word2vec_key

    songs = songs.copy()
    songs.loc[7, "track_id"] = "BANK CHARGES"
    songs.loc[8, "track_id"] = "50%\toff"
    paths = export_paths(tmp_path)
    write_export(matrix, songs, paths)
    kv = KeyedVectors.load_word2vec_format(paths["binary"], binary=True)
    assert kv.index_to_key[7] == "BANK%20CHARGES" and kv.index_to_key[8] == "50%25%09off"
    assert [unquote(k) for k in kv.index_to_key] == songs["track_id"].tolist()
    np.testing.assert_array_equal(kv.vectors[7], matrix[7])
    assert word2vec_key("track_12") == "track_12"
    assert pd.read_parquet(paths["parquet"])["track_id"].iloc[7] == "BANK CHARGES"
    songs.loc[3, "track_id"] = ""
    with pytest.raises(DataError, match="empty track id"):
        write_export(matrix, songs, export_paths(tmp_path / "x"))


# ---------------------------------------------------------------------------------- which entry
def _grid(tmp_path, best_entry, best_method, rows):
    (tmp_path / "best.json").write_text(json.dumps({"entry": best_entry, "method": best_method, "metric": "ndcg_at_k"}))
    table = pd.DataFrame(rows, columns=["entry", "method", "hr_at_k", "ndcg_at_k"])
    table.to_csv(tmp_path / "grid.tsv", sep="\t", index=False)
    return tmp_path / "best.json", tmp_path / "grid.tsv"


def test_the_best_sgns_entry_stands_for_a_baseline(tmp_path):
    rows = [
        ("popularity", "popularity", 0.1, 0.05),
        ("cooccurrence", "cooccurrence", 0.5, 0.4),
        ("a", "sgns", 0.45, 0.20),
        ("b", "sgns", 0.40, 0.30),  # the best ndcg_at_k, the metric the best entry won on
        ("c", "sgns", 0.40, 0.30),
        ("oracle", "oracle", 0.9, 0.9),
    ]
    entry, note = choose_entry(*_grid(tmp_path, "cooccurrence", "cooccurrence", rows))
    assert entry == "b" and "'cooccurrence' is a baseline" in note and "ndcg_at_k" in note
    assert choose_entry(*_grid(tmp_path, "a", "sgns", rows)) == ("a", None)
    with pytest.raises(DataError, match="no sgns entry"):
        choose_entry(*_grid(tmp_path, "cooccurrence", "cooccurrence", rows[:2]))


def test_the_step_exports_the_best_sgns_entry_when_a_baseline_wins(tmp_path, songs, matrix):
    best, grid = _grid(
        tmp_path, "cooccurrence", "cooccurrence", [("cooccurrence", "cooccurrence", 0.5, 0.4), ("b", "sgns", 0.4, 0.3)]
    )
    songs[["index", "track_id", "count", "artist_id"]].to_parquet(tmp_path / "vocab.parquet")
    np.save(tmp_path / "b.npy", matrix)
    outputs = {k: str(p) for k, p in export_paths(tmp_path / "export" / "best").items()}
    manifest = export_step(
        "best", {"b": str(tmp_path / "b.npy")}, str(tmp_path / "vocab.parquet"), None, 5, outputs, best=best, grid=grid
    )
    assert manifest["entry"] == "b" and manifest["exported_as"] == "best" and "baseline" in manifest["note"]
    kv = KeyedVectors.load_word2vec_format(outputs["text"])
    assert np.array_equal(kv.vectors, matrix)


def test_a_baseline_has_no_vectors_to_export(tmp_path, songs):
    songs[["index", "track_id", "count", "artist_id"]].to_parquet(tmp_path / "vocab.parquet")
    model = tmp_path / "baselines" / "popularity.npz"
    outputs = {k: str(p) for k, p in export_paths(tmp_path / "export" / "popularity").items()}
    methods = {"popularity": "popularity", "tuned": "sgns", "small": "sgns"}
    with pytest.raises(DataError) as err:
        export_step(
            "popularity", {"popularity": str(model)}, str(tmp_path / "vocab.parquet"), None, 5, outputs, methods=methods
        )
    message = str(err.value)
    assert message.startswith(str(model)) and "baseline (popularity)" in message and "no vectors" in message
    assert "tuned" in message and "small" in message and "--entry" in message  # how to fix it
    assert not (tmp_path / "export").exists()  # not an empty file


# ---------------------------------------------------------------------------------- on the tiny run
def test_the_rule_exports_the_best_entry(tiny_run):
    folder = tiny_run / "export" / "best"
    assert sorted(p.name for p in folder.iterdir()) == sorted(EXPORT_FILES.values())
    manifest = json.loads((folder / "export.json").read_text())
    best = json.loads((tiny_run / "best.json").read_text())
    grid = pd.read_csv(tiny_run / "grid.tsv", sep="\t")
    if best["method"] == "sgns":
        assert manifest["entry"] == best["entry"] and "note" not in manifest
    else:  # the tiny preset's best is a baseline: the best sgns entry stands for it, and the log says so
        sgns = grid[grid["method"] == "sgns"]
        assert manifest["entry"] == sgns.loc[sgns[best["metric"]].idxmax(), "entry"]
        assert "is a baseline" in manifest["note"]
        assert "WARNING" in (tiny_run / "logs" / "export" / "best.log").read_text()
    matrix = np.load(tiny_run / "embeddings" / f"{manifest['entry']}.npy")
    kv = KeyedVectors.load_word2vec_format(folder / "word2vec.bin", binary=True)
    assert np.array_equal(kv.vectors, matrix)
    assert manifest["projector_songs"] == min(10_000, len(matrix))
    assert (tiny_run / "benchmarks" / "export" / "best.tsv").exists()


def test_the_rule_exports_any_entry_and_refuses_a_baseline(tiny_run):
    wd = tiny_run.parents[1]
    tiny = ["--configfile", str(ROOT / "tests" / "tiny.yaml")]
    snakemake(wd, *tiny, "--", "results/tiny/export/window_1/vectors.parquet")
    table = pq.read_table(tiny_run / "export" / "window_1" / "vectors.parquet")
    assert np.array_equal(
        table["vector"].combine_chunks().flatten().to_numpy().reshape(table.num_rows, -1),
        np.load(tiny_run / "embeddings" / "window_1.npy"),
    )
    proc = snakemake(wd, *tiny, "--", "results/tiny/export/cooccurrence/word2vec.txt", check=False)
    assert proc.returncode != 0
    log = (tiny_run / "logs" / "export" / "cooccurrence.log").read_text()
    assert "baseline (cooccurrence)" in log and "seed_reference" in log and "Traceback" not in log
    assert not (tiny_run / "export" / "cooccurrence" / "word2vec.txt").exists()


def test_the_command_exports_and_gensim_agrees_with_suggest(tiny_run, tmp_path):
    # seed_reference ranks by cosine without a prior (popularity_prior: 0)
    exe = [sys.executable, "-m", "track2vec.cli"]
    common = ["--results", str(tiny_run), "--entry", "seed_reference"]
    proc = subprocess.run(
        [*exe, "export", *common, "--out", "out", "--top", "50"], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "seed_reference: " in proc.stdout and "word2vec.bin" in proc.stdout
    kv = KeyedVectors.load_word2vec_format(tmp_path / "out" / "word2vec.txt")
    assert np.array_equal(kv.vectors, np.load(tiny_run / "embeddings" / "seed_reference.npy"))
    assert len((tmp_path / "out" / "vectors.tsv").read_text().splitlines()) == 50
    for title in ("Holy Planet", "Train of Sky"):
        proc = subprocess.run([*exe, "suggest", title, *common, "--json"], capture_output=True, text=True)
        data = json.loads(proc.stdout)
        query = kv.index_to_key[data["playlist"][-1]]
        similar = kv.most_similar(query, topn=10)
        assert [k for k, _ in similar] == [s["track_id"] for s in data["suggestions"]]
    # no --entry: the best entry, or the best sgns entry when it is a baseline (the tiny preset's is)
    out = tmp_path / "best"
    assert cli.main(["export", "--results", str(tiny_run), "--out", str(out), "--top", "5"]) == 0
    manifest = json.loads((out / "export.json").read_text())
    rule = json.loads((tiny_run / "export" / "best" / "export.json").read_text())
    assert manifest["entry"] == rule["entry"] and manifest.get("note") == rule.get("note")
    assert manifest["projector_songs"] == 5
    proc = subprocess.run(
        [*exe, "export", "--results", str(tiny_run), "--entry", "popularity", "--out", "p"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 1 and "baseline (popularity)" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "p").exists()


# ---------------------------------------------------------------------------------- logs a person can read
def test_warnings_name_the_step_and_the_problem(tmp_path):
    import warnings
    from types import SimpleNamespace

    def main(smk, log):
        warnings.warn("the metadata file has 2 bad rows", UserWarning, stacklevel=1)
        warnings.warn("the old way", FutureWarning, stacklevel=1)

    log = tmp_path / "demo.log"
    logger = logging.getLogger("track2vec")
    state = (list(logger.handlers), logger.propagate, logger.level)
    try:
        with warnings.catch_warnings():  # restores warnings.showwarning, which run() sets
            run(main, SimpleNamespace(log=[str(log)], rule="demo"))
    finally:
        for handler in logger.handlers:
            handler.close()
        logger.handlers, logger.propagate, logger.level = state
    text = log.read_text()
    assert re.search(r"^\d\d:\d\d:\d\d demo WARNING the metadata file has 2 bad rows$", text, re.MULTILINE)
    assert re.search(r"^\d\d:\d\d:\d\d demo WARNING the old way \(FutureWarning\)$", text, re.MULTILINE)
    assert not SOURCE_PATH_WARNING.search(text) and "test_export.py" not in text


def test_no_tensorflow_line_nor_source_path_reaches_the_job_logs(tiny_run):
    logs = sorted((tiny_run / "logs").rglob("*.log"))
    assert len(logs) >= 15 and any(p.parent.name == "train" for p in logs)
    for path in logs:
        text = path.read_text()
        assert not TF_LINE.search(text), f"{path}: {TF_LINE.search(text).group(0)!r}"
        assert not SOURCE_PATH_WARNING.search(text), f"{path}: {SOURCE_PATH_WARNING.search(text).group(0)!r}"
    train_log = (tiny_run / "logs" / "train" / "window_1.log").read_text()
    assert "training on the CPU" in train_log or "training on the GPU" in train_log


_TRAIN_JOB = textwrap.dedent(
    """
    import runpy, sys
    from types import SimpleNamespace

    hp, folder, results = eval(sys.argv[1]), sys.argv[2], sys.argv[3]
    smk = SimpleNamespace(
        input=SimpleNamespace(train=f"{results}/split/train.parquet", vocab=f"{results}/vocab.parquet"),
        output=SimpleNamespace(embeddings=f"{folder}/e.npy", log=f"{folder}/e.tsv"),
        params=SimpleNamespace(hp=hp, device="auto"),
        threads=1,
        log=[f"{folder}/job.log"],
        rule="train",
    )
    runpy.run_path(sys.argv[4], init_globals={"snakemake": smk})
    """
)


def _train_job(results, folder, **env):
    """Run scripts/train.py as Snakemake runs it (a fresh process), on a small model; its stderr."""
    hp = {h: v for h, v in asdict(TrainParams(dim=8, epochs=1, negatives=2, batch_size=256)).items() if h in TRAINING}
    folder.mkdir()
    environ = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TRACK2VEC_TF_LOG")}
    proc = subprocess.run(
        [sys.executable, "-c", _TRAIN_JOB, repr(hp), str(folder), str(results), str(ROOT / "scripts" / "train.py")],
        capture_output=True,
        text=True,
        env={**environ, **env},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_a_training_job_shows_only_the_project_lines_unless_asked(tiny_run, tmp_path):
    stderr = _train_job(tiny_run, tmp_path / "quiet")
    lines = stderr.splitlines()
    assert lines and all(PROJECT_LINE.match(line) for line in lines), stderr
    assert any("epoch 1/1" in line for line in lines)
    # TRACK2VEC_TF_LOG=1: TensorFlow's own lines as it writes them (this build logs oneDNN's at least)
    loud = _train_job(tiny_run, tmp_path / "loud", TRACK2VEC_TF_LOG="1")
    assert TF_LINE.search(loud) and "epoch 1/1" in loud
    # a level the user set is honoured: 0 shows TensorFlow's information lines
    assert TF_LINE.search(_train_job(tiny_run, tmp_path / "level0", TF_CPP_MIN_LOG_LEVEL="0"))


# ---------------------------------------------------------------------------------- the device
def test_the_device_is_checked():
    from track2vec.errors import ConfigError
    from track2vec.train import train

    offsets, values, counts = np.array([0, 4, 8]), np.array([0, 1, 2, 3, 3, 2, 1, 0]), np.full(4, 2)
    with pytest.raises(ValueError, match="device must be one of auto, cpu, gpu"):
        train(offsets, values, counts, TrainParams(dim=4, epochs=1), device="tpu")
    pytest.importorskip("tensorflow")
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("TensorFlow sees a GPU here")
    with pytest.raises(ConfigError, match="train.device.*no GPU.*pip install -e '.\\[gpu\\]'"):
        train(offsets, values, counts, TrainParams(dim=4, epochs=1), device="gpu")
    lines = []
    result = train(offsets, values, counts, TrainParams(dim=4, epochs=1), device="cpu", progress=lines.append)
    assert result.embeddings.shape == (4, 4) and "training on the CPU (/CPU:0; device cpu)" in lines
