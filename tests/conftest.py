import os
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
