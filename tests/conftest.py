import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_ECOMMERCE = ROOT.parent / "shared" / "data" / "ecommerce_sessions.npy"

# TensorFlow: quiet, and no oneDNN reordering (steadier numbers in tests)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def save_object_array(path, playlists):
    arr = np.empty(len(playlists), dtype=object)
    for i, p in enumerate(playlists):
        arr[i] = p
    np.save(path, arr, allow_pickle=True)
    return path


@pytest.fixture
def deezer_npy(tmp_path):
    pls = [
        ["track_1", "artist_10", "track_2", "artist_20", "track_3", "artist_10"],
        ["track_2", "artist_20", "track_1", "artist_10"],
        ["track_4", "artist_40"],
    ]
    return save_object_array(tmp_path / "music.npy", pls)


SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(workdir, *args, check=True):
    """Run the workflow in ``workdir`` on 2 cores; raise with its stderr when it fails."""
    cmd = [*SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The tiny preset run once per test session (shared by the tests that need real results)."""
    wd = tmp_path_factory.mktemp("tiny")
    snakemake(wd, "--configfile", str(ROOT / "tests" / "tiny.yaml"))
    return wd / "results" / "tiny"
