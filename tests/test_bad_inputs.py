"""Bad input, faults: each gives a clear message (what, which file or key, how to fix),
a non-zero exit, and no partial outputs."""

import errno
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, save_object_array
from track2vec import atomic
from track2vec.atomic import ResultsFolderError, write_json
from track2vec.errors import DataError
from track2vec.pipeline.ensemble import ensemble_step
from track2vec.pipeline.evaluate import evaluate_step
from track2vec.pipeline.load import load_step
from track2vec.pipeline.split import split_step
from track2vec.pipeline.vocab import vocab_step

TINY = str(ROOT / "tests" / "tiny.yaml")


def run_snakemake(wd, *args):
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(wd),
        "--cores",
        "2",
        "--configfile",
        TINY,
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def finished_files(results: Path):
    """Files that look like outputs: everything but logs, benchmarks and snakemake's own."""
    if not results.exists():
        return []
    return sorted(
        str(p.relative_to(results))
        for p in results.rglob("*")
        if p.is_file() and p.parts[len(results.parts)] not in ("logs", "benchmarks")
    )


def stray_temporaries(root: Path):
    return [p for p in root.rglob("*.tmp-*")]


def bad_file(tmp_path, kind):
    p = tmp_path / "input.npy"
    if kind == "not_npy":
        p.write_text("playlist_id,track_id\n1,2\n")
    elif kind == "pickle_not_array":
        p.write_bytes(pickle.dumps([["track_1", "artist_1"]]))
    elif kind == "int_array":
        np.save(p, np.arange(12).reshape(3, 4))
    elif kind == "empty":
        np.save(p, np.empty(0, dtype=object), allow_pickle=True)
    elif kind == "no_tracks":
        save_object_array(p, [["artist_1", "artist_2"], ["artist_3", "artist_4"]])
    elif kind == "non_string":
        save_object_array(p, [["track_1", "artist_1"], ["track_2", 17]])
    elif kind == "one_song":
        save_object_array(p, [[f"track_{i % 5}", "artist_1"] for i in range(50)])
    elif kind == "no_repeat":
        save_object_array(p, [[x for j in range(6) for x in (f"track_{i}_{j}", "artist_1")] for i in range(30)])
    elif kind == "missing":
        p = tmp_path / "nowhere.npy"
    return p


CASES = {
    # kind: (failing step, expected words in the message, outputs allowed to exist)
    "missing": (None, "not found", []),
    "not_npy": ("load", "cannot be read as a .npy", []),
    "pickle_not_array": ("load", "holds a list, not a numpy array", []),
    "int_array": ("load", "not an object array", []),
    "empty": ("load", "holds no playlists", []),
    "no_tracks": ("load", "no track tokens", []),
    "non_string": ("load", "holds a int token", []),
    "one_song": ("split", "more than 3 songs", ["playlists.parquet", "vocab.parquet", "corpus.parquet"]),
    "no_repeat": ("vocab", "occur at least min_count=2 times", ["playlists.parquet"]),
}


@pytest.mark.workflow
@pytest.mark.parametrize("kind", list(CASES))
def test_bad_playlists_file_through_the_workflow(tmp_path, kind):
    step, words, allowed = CASES[kind]
    path = bad_file(tmp_path, kind)
    proc = run_snakemake(tmp_path, "--config", f"playlists={path}", "--", "results/tiny/split/train.parquet")
    assert proc.returncode != 0
    results = tmp_path / "results" / "tiny"
    if step is None:
        text = proc.stdout + proc.stderr
    else:
        text = (results / "logs" / f"{step}.log").read_text()
        assert "Traceback" not in text
    assert words in text, text[-2000:]
    assert str(path) in text
    low = text.lower()
    assert any(w in low for w in ("fix", "lower", "set ", "expected", "must"))  # says how to fix it
    assert finished_files(results) == sorted(allowed)
    assert not stray_temporaries(tmp_path)


def test_unicode_long_ids_and_duplicate_playlists_are_fine(tmp_path):
    rng = np.random.default_rng(0)
    names = [f"track_{'é' * 3}{'🎵'}{i}_{'x' * 300}" for i in range(40)]
    pls = [[x for t in rng.choice(names, 8, replace=False) for x in (t, "artist_ß")] for _ in range(60)]
    pls += [pls[0], pls[0]]  # duplicates
    src = save_object_array(tmp_path / "u.npy", pls)
    load_step(str(src), tmp_path / "p.parquet")
    vocab_step(tmp_path / "p.parquet", 2, tmp_path / "v.parquet", tmp_path / "c.parquet")
    split_step(
        tmp_path / "c.parquet", 10, 10, 4, tmp_path / "t.parquet", tmp_path / "val.parquet", tmp_path / "test.parquet"
    )
    vocab = pd.read_parquet(tmp_path / "v.parquet")
    assert set(vocab["track_id"]) == set(names)
    assert set(vocab["artist_id"]) == {"artist_ß"}


def test_duplicate_playlists_warned(tmp_path, caplog):
    src = save_object_array(tmp_path / "d.npy", [["track_1", "artist_1", "track_2", "artist_2"]] * 3)
    with caplog.at_level("WARNING", logger="track2vec"):
        load_step(str(src), tmp_path / "p.parquet")
    assert "2 playlists repeat an earlier playlist" in caplog.text


@pytest.mark.workflow
@pytest.mark.parametrize(
    "override, key",
    [
        (["foo=1"], "(top level)"),
        (["min_count=two"], "min_count"),
        (["evaluate={'k': 0}"], "evaluate.k"),
        (["grid={'bad name/..': {'dim': 4}}"], "grid"),
        (["defaults={'window': -2}"], "defaults.window"),
        (["grid={'e': {'ensemble': 0}}"], "grid.e.ensemble"),
        (["grid={'e': {'ensemble_windows': [3]}}"], "grid.e.ensemble_windows"),
        (["grid={'e': {'ensemble': 2, 'ensemble_windows': [3, 1, 5]}}"], "grid.e.ensemble"),
    ],
)
def test_config_errors_through_the_workflow(tmp_path, override, key):
    proc = run_snakemake(tmp_path, "-n", "--config", *override)
    assert proc.returncode != 0
    assert f"'{key}'" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.workflow
def test_duplicate_and_empty_grid_in_a_config_file(tmp_path):
    dup = tmp_path / "dup.yaml"
    dup.write_text("grid:\n  a: {dim: 4}\n  a: {dim: 8}\n")
    proc = run_snakemake(tmp_path, "-n", "--configfile", str(dup))
    assert proc.returncode != 0 and "'a' is given twice" in proc.stdout + proc.stderr
    empty = tmp_path / "empty.yaml"
    empty.write_text("grid: {}\n")
    proc = run_snakemake(tmp_path, "-n", "--configfile", str(empty))
    assert proc.returncode != 0 and "'grid'" in proc.stdout + proc.stderr


def test_k_larger_than_vocabulary(tmp_path):
    emb = tmp_path / "e.npy"
    np.save(emb, np.ones((5, 3), dtype=np.float32))
    pd.DataFrame({"index": range(5), "track_id": list("abcde"), "count": [2] * 5}).to_parquet(tmp_path / "v.parquet")
    pd.DataFrame({"playlist": [0], "query": [0], "target": [1]}).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(Exception, match="'evaluate.k' is 10 but the vocabulary has only 5"):
        evaluate_step(
            str(emb), tmp_path / "v.parquet", tmp_path / "p.parquet", 10, "cosine", "miss", tmp_path / "m.json"
        )
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize(
    "matrix, words",
    [
        (np.ones((4, 3), dtype=np.float32), "has 4 rows but the vocabulary has 5"),
        (np.ones((5, 3), dtype=np.int64), "dtype int64"),
        (np.array([[1, 2, np.nan]] * 5, dtype=np.float32), "NaN"),
        (np.ones(5, dtype=np.float32), "not a 2-D matrix"),
        (b"garbage", "cannot be read"),
    ],
)
def test_corrupted_embeddings_caught_before_evaluation(tmp_path, matrix, words):
    emb = tmp_path / "e.npy"
    emb.write_bytes(matrix) if isinstance(matrix, bytes) else np.save(emb, matrix)
    pd.DataFrame({"index": range(5), "track_id": list("abcde"), "count": [2] * 5}).to_parquet(tmp_path / "v.parquet")
    pd.DataFrame({"playlist": [0], "query": [0], "target": [1]}).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(DataError) as err:
        evaluate_step(
            str(emb), tmp_path / "v.parquet", tmp_path / "p.parquet", 2, "cosine", "miss", tmp_path / "m.json"
        )
    assert words in str(err.value) and str(emb) in str(err.value) and "re-run" in str(err.value)
    assert not (tmp_path / "m.json").exists()


def test_ensemble_member_of_the_wrong_size(tmp_path):
    pd.DataFrame({"index": range(5), "track_id": list("abcde"), "count": [2] * 5}).to_parquet(tmp_path / "v.parquet")
    good, bad = tmp_path / "good.npy", tmp_path / "bad.npy"
    np.save(good, np.ones((5, 3), dtype=np.float32))
    np.save(bad, np.ones((4, 3), dtype=np.float32))
    log = tmp_path / "log.tsv"
    log.write_text("epoch\tloss\tpositive_pairs\tseconds\tpairs_per_second\tlearning_rate\n1\t1.0\t10\t0.5\t20\t0.01\n")
    with pytest.raises(DataError) as err:
        ensemble_step([str(good), str(bad)], [log, log], tmp_path / "v.parquet", tmp_path / "e.npy", tmp_path / "e.tsv")
    assert str(bad) in str(err.value) and "has 4 rows but the vocabulary has 5" in str(err.value)
    assert not (tmp_path / "e.npy").exists() and not (tmp_path / "e.tsv").exists()


@pytest.mark.parametrize("code, words", [(errno.EROFS, "read-only"), (errno.ENOSPC, "disk is full")])
def test_unwritable_folder_message(tmp_path, monkeypatch, code, words):
    def fail(*a, **k):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic.os, "replace", fail)
    with pytest.raises(ResultsFolderError, match=words):
        write_json(tmp_path / "x.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone too


def _mount(target: Path, opts: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    return (
        subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(target)], capture_output=True).returncode == 0
    )


@pytest.mark.parametrize("kind", ["read-only", "full"])
def test_real_read_only_or_full_results_folder(tmp_path, kind):
    """A real read-only or full filesystem (tmpfs, needs root): clear message, nothing left behind."""
    mnt = tmp_path / "mnt"
    if not _mount(mnt, "size=16k" if kind == "full" else "size=1m"):
        pytest.skip("needs root and mount to make a real read-only or full filesystem")
    try:
        if kind == "read-only":
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        src = save_object_array(tmp_path / "in.npy", [[f"track_{i}_{j}" for j in range(400)] for i in range(30)])
        with pytest.raises(ResultsFolderError) as err:
            load_step(str(src), mnt / "results" / "playlists.parquet" if kind == "full" else mnt / "playlists.parquet")
        assert ("read-only" if kind == "read-only" else "disk is full") in str(err.value)
        assert not [p for p in mnt.rglob("*") if p.is_file()]
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_metadata_missing_columns_is_an_error(tmp_path):
    from track2vec.catalog import read_metadata

    p = tmp_path / "m.csv"
    p.write_text("id,name\ntrack_1,A\n")
    with pytest.raises(DataError, match="has no column track_id, title"):
        read_metadata(p)


def test_metadata_bad_rows_are_reported_and_skipped(tmp_path):
    from track2vec.catalog import read_metadata

    p = tmp_path / "m.csv"
    p.write_text(
        "track_id,title,name,preview\n"
        "track_1,Café,Ana,http://x/1.mp3\n"
        "track_2,Too,many,fields,here,oops\n"
        ",No id,Bob,\n"
        "track_3,Fine,Cy,\n"
    )
    with pytest.warns(UserWarning, match="skipped 2 bad row"):
        df = read_metadata(p)
    assert list(df["track_id"]) == ["track_1", "track_3"]
    assert df.loc[0, "title"] == "Café" and df.loc[1, "preview"] == ""
