import numpy as np
import pandas as pd
import pytest

from conftest import SHARED_ECOMMERCE, save_object_array
from track2vec.errors import DataError
from track2vec.io import load_playlists, read_playlists, read_sequences, write_playlists, write_sequences


def test_deezer_layout_tracks_and_artists(deezer_npy):
    pl = read_playlists(deezer_npy)
    assert pl.layout == "deezer"
    assert pl.to_lists() == [["track_1", "track_2", "track_3"], ["track_2", "track_1"], ["track_4"]]
    assert pl.artists.to_pylist() == ["artist_10", "artist_20", "artist_10", "artist_20", "artist_10", "artist_40"]
    assert list(pl.offsets) == [0, 3, 5, 6]


def test_deezer_layout_track_without_artist_and_artist_of_next_playlist(tmp_path):
    # the last track of playlist 0 has no artist; playlist 1 starts with an artist token
    path = save_object_array(
        tmp_path / "x.npy", [["track_1", "artist_1", "track_2"], ["artist_9", "track_3", "artist_3"]]
    )
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


# --- the .npy reader's fast paths ------------------------------------------------------


def test_object_ids_are_the_ids_and_fall_back_without_a_buffer(monkeypatch):
    from track2vec import io as tio

    objs = np.array(["a", "b", "a", ("t",), None], dtype=object)
    expected = [id(x) for x in objs]
    assert tio._object_ids(objs).tolist() == expected
    monkeypatch.setattr(tio.np, "frombuffer", lambda *a, **k: (_ for _ in ()).throw(TypeError("no buffer")))
    assert tio._object_ids(objs).tolist() == expected


def test_factorize_merges_equal_values_held_by_distinct_objects():
    from track2vec.io import _factorize_tokens

    a, b = "x" * 30, "".join(["x"] * 30)  # equal values, two objects
    assert a is not b
    flat = np.array([a, "y", b, "y", np.str_("y"), a], dtype=object)
    codes, uniques = _factorize_tokens(flat)
    assert list(uniques) == [a, "y"] and codes.tolist() == [0, 1, 0, 1, 1, 0]
    codes, uniques = _factorize_tokens(flat, slice(1, None, 2))
    assert list(uniques) == ["y", "x" * 30] and codes.tolist() == [0, 0, 1]
    codes, uniques = _factorize_tokens(flat, np.array([4, 2]))
    assert list(uniques) == ["y", "x" * 30] and codes.tolist() == [0, 1]


def test_playlists_given_as_unicode_arrays_and_tuples(tmp_path):
    # numpy str arrays hand out a new object per token: the reader merges them by value
    path = save_object_array(
        tmp_path / "u.npy", [np.array(["track_1", "artist_1", "track_2", "artist_1"]), ("track_1", "artist_1")]
    )
    pl = read_playlists(path)
    assert pl.to_lists() == [["track_1", "track_2"], ["track_1"]]
    assert pl.artists.to_pylist() == ["artist_1", "artist_1", "artist_1"]
    codes, dictionary = pl.track_codes
    assert codes[0] == codes[2] != codes[1] and dictionary.to_pylist().count("track_1") == 1


def test_paired_layout_with_odd_lengths(tmp_path):
    # playlist 1 starts at an odd position: its items are at odd positions of the flat array
    path = save_object_array(tmp_path / "s.npy", [["a", "x", "b"], ["c", "y", "d", "z"], [], ["e"]])
    pl = read_playlists(path)
    assert pl.layout == "paired"
    assert pl.to_lists() == [["a", "b"], ["c", "d"], [], ["e"]]
    assert list(pl.offsets) == [0, 2, 4, 4, 5]
    assert not pl.has_artists and pl.artists.null_count == 5


@pytest.mark.parametrize(
    "lists, message",
    [
        ([["a", "x", "b", 7]], "playlist 0 holds a int token (7)"),  # a side token, even lengths
        ([["a", "x", "b"], ["c", None]], "playlist 1 holds a NoneType token"),  # a side token, odd start
        ([["a", "x"], [3.5, "y"]], "playlist 1 holds a float token (3.5)"),  # an item
        ([["a", "x"], [float("nan"), "y"]], "playlist 1 holds a float token (nan)"),
        ([["a", "x"], [["list"], "y"]], "playlist 1 holds a list token"),  # unhashable
    ],
)
def test_paired_layout_bad_tokens(tmp_path, lists, message):
    path = save_object_array(tmp_path / "bad.npy", lists)
    with pytest.raises(DataError) as err:
        read_playlists(path)
    assert message in str(err.value) and str(path) in str(err.value)


def _deezer_reference(lists):
    """The Deezer layout read the slow way: each track, and the artist token right after it."""
    tracks, artists = [], []
    for p in lists:
        ts, arts = [], []
        for j, t in enumerate(p):
            if t.startswith("track_"):
                ts.append(t)
                nxt = p[j + 1] if j + 1 < len(p) else None
                arts.append(nxt if nxt is not None and nxt.startswith("artist_") else None)
        tracks.append(ts)
        artists += arts
    return tracks, artists


@pytest.mark.parametrize("seed", range(6))
def test_deezer_layout_matches_a_plain_python_reading(tmp_path, seed):
    """Strictly alternating files take a shortcut; any other mix goes the general way."""
    rng = np.random.default_rng(seed)
    lists = []
    for _ in range(40):
        p = []
        for _ in range(rng.integers(0, 6)):
            p.append(f"track_{rng.integers(0, 12)}")
            if seed % 2 == 0 or rng.random() < 0.7:  # even seeds: strict alternation
                p.append(f"artist_{rng.integers(0, 4)}")
            if seed % 2 == 1 and rng.random() < 0.1:
                p.append("other")
        lists.append(p)
    lists[0] = ["track_0", "artist_0"] + lists[0]
    tracks, artists = _deezer_reference(lists)
    pl = read_playlists(save_object_array(tmp_path / "d.npy", lists))
    assert pl.layout == "deezer"
    assert pl.to_lists() == tracks
    assert pl.artists.to_pylist() == artists
    assert pl.n_tokens == sum(map(len, tracks)) and pl.has_artists


def test_playlists_built_from_codes():
    import pyarrow as pa

    from track2vec.io import Playlists

    d = pa.array(["t1", "a1", "t2"])
    pl = Playlists(None, None, np.array([0, 2, 3]), "x", (np.array([0, 2, 0]), d), (np.array([1, -1, 1]), d))
    assert pl.to_lists() == [["t1", "t2"], ["t1"]]
    assert pl.artists.to_pylist() == ["a1", None, "a1"]
    assert pl.has_artists and pl.n_tokens == 3
    bare = Playlists(None, None, np.array([0, 2, 3]), "x", (np.array([0, 2, 0]), d))
    assert not bare.has_artists and bare.artists.to_pylist() == [None] * 3
    assert not Playlists(pa.array(["x"]), pa.nulls(1, pa.string()), np.array([0, 1]), "x").has_artists
    with pytest.raises(ValueError, match="tracks or track_codes"):
        Playlists(None, None, np.array([0]), "x")


def test_deezer_even_positions_all_tracks_but_not_all_followed_by_an_artist(tmp_path):
    lists = [["track_1", "other", "track_2", "artist_2"], ["track_3", "track_1"]]
    pl = read_playlists(save_object_array(tmp_path / "d.npy", lists))
    assert pl.to_lists() == [["track_1", "track_2"], ["track_3", "track_1"]]
    assert pl.artists.to_pylist() == [None, "artist_2", None, None]


def test_paired_layout_of_artist_tokens_only(tmp_path):
    path = save_object_array(tmp_path / "a.npy", [["artist_1", "x", "artist_2", "y"], ["artist_1", "z"]])
    with pytest.raises(DataError, match="only `artist_<id>` tokens"):
        read_playlists(path)
    # an item that is an artist token among others is just an item
    pl = read_playlists(save_object_array(tmp_path / "b.npy", [["artist_1", "x", "85116", "y"]]))
    assert pl.to_lists() == [["artist_1", "85116"]]
