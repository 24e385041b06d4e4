import numpy as np
import pandas as pd
import pytest

from track2vec.errors import DataError
from track2vec.io import load_playlists, read_playlists, read_sequences, write_playlists, write_sequences

from conftest import SHARED_ECOMMERCE, save_object_array


def test_deezer_layout_tracks_and_artists(deezer_npy):
    pl = read_playlists(deezer_npy)
    assert pl.layout == "deezer"
    assert pl.to_lists() == [["track_1", "track_2", "track_3"], ["track_2", "track_1"], ["track_4"]]
    assert pl.artists.to_pylist() == ["artist_10", "artist_20", "artist_10", "artist_20", "artist_10", "artist_40"]
    assert list(pl.offsets) == [0, 3, 5, 6]


def test_deezer_layout_track_without_artist_and_artist_of_next_playlist(tmp_path):
    # the last track of playlist 0 has no artist; playlist 1 starts with an artist token
    path = save_object_array(tmp_path / "x.npy", [["track_1", "artist_1", "track_2"], ["artist_9", "track_3", "artist_3"]])
    pl = read_playlists(path)
    assert pl.to_lists() == [["track_1", "track_2"], ["track_3"]]
    assert pl.artists.to_pylist() == ["artist_1", None, "artist_3"]


def test_paired_layout_keeps_even_positions(tmp_path):
    path = save_object_array(tmp_path / "s.npy", [["a", "useless", "b", "useless"], ["c", "x"]])
    pl = read_playlists(path)
    assert pl.layout == "paired"
    assert pl.to_lists() == [["a", "b"], ["c"]]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_long_table_orders_by_position(tmp_path, suffix):
    df = pd.DataFrame(
        {
            "playlist_id": ["p2", "p1", "p1", "p1", "p2"],
            "position": [1, 2, 0, 1, 0],
            "track_id": ["t9", "t3", "t1", "t2", "t8"],
            "artist_id": ["a9", "a3", "a1", "a2", "a8"],
        }
    )
    path = tmp_path / f"t{suffix}"
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path)
    pl = read_playlists(path)
    assert pl.to_lists() == [["t1", "t2", "t3"], ["t8", "t9"]]
    assert pl.artists.to_pylist() == ["a1", "a2", "a3", "a8", "a9"]


def test_long_table_missing_column(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"playlist_id": [1], "track_id": ["x"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="position"):
        read_playlists(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found"),
        (b"not a numpy file", "cannot be read"),
        (np.arange(5), "dtype int64"),
        (np.empty(0, dtype=object), "empty"),
        ([["track_1", 3]], "int token"),
        (["track_1"], "playlist 0 is a str"),
        ([["item_1", "x"], []], None),
        ([["track_1"], [None]], "NoneType"),
    ],
)
def test_bad_npy_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, np.ndarray):
        np.save(path, content, allow_pickle=True)
    elif content is not None:
        save_object_array(path, content)
    if message is None:  # paired layout, no error at read time
        read_playlists(path)
        return
    with pytest.raises(DataError) as err:
        read_playlists(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_no_track_tokens(tmp_path):
    path = save_object_array(tmp_path / "x.npy", [["track", "artist_1"]])  # 'track' without '_'
    with pytest.raises(DataError, match="no `track_<id>` tokens"):
        read_playlists(path)


def test_playlists_parquet_round_trip(deezer_npy, tmp_path):
    pl = read_playlists(deezer_npy)
    write_playlists(pl, tmp_path / "p.parquet")
    back = load_playlists(tmp_path / "p.parquet")
    assert back.to_lists() == pl.to_lists()
    assert back.artists.to_pylist() == pl.artists.to_pylist()


def test_sequences_round_trip(tmp_path):
    offsets = np.array([0, 2, 2, 5])
    values = np.array([3, 1, 4, 1, 5], dtype=np.int32)
    write_sequences(offsets, values, tmp_path / "s.parquet", ids=np.array([7, 8, 9]))
    o, v, ids = read_sequences(tmp_path / "s.parquet")
    assert list(o) == [0, 2, 2, 5] and list(v) == [3, 1, 4, 1, 5] and list(ids) == [7, 8, 9]
    assert v.dtype == np.int32


@pytest.mark.skipif(not SHARED_ECOMMERCE.exists(), reason="../shared/data/ecommerce_sessions.npy is absent")
def test_real_ecommerce_file_reads_as_paired():
    pl = read_playlists(SHARED_ECOMMERCE)
    assert pl.layout == "paired"
    assert pl.n_playlists == 4234
    raw = np.load(SHARED_ECOMMERCE, allow_pickle=True)
    assert pl.to_lists()[0] == list(raw[0][::2])
    assert "useless" not in set(pl.tracks.to_pylist())
