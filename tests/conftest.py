import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the shared e-commerce sessions (tests that need them skip where they are absent):
#: $TRACK2VEC_ECOMMERCE, else ../shared/data/ relative to the project root
SHARED_ECOMMERCE = Path(
    os.environ.get("TRACK2VEC_ECOMMERCE") or ROOT.parent / "shared" / "data" / "ecommerce_sessions.npy"
)

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


#: headless Chromium and its driver, for the browser tests (Debian: apt-get install chromium chromium-driver)
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and Path(CHROMEDRIVER).exists()),
    reason="needs /usr/bin/chromium and chromedriver (apt-get install chromium chromium-driver)",
)

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


def pytest_collection_modifyitems(items):
    """A test that needs a run of the pipeline (the ``tiny_run`` fixture) is a workflow test."""
    for item in items:
        if "tiny_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.workflow)
