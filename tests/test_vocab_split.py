import numpy as np
import pyarrow as pa
import pytest

from track2vec.io import Playlists, read_playlists
from track2vec.split import split_playlists
from track2vec.vocab import build_vocabulary


def make_playlists(lists):
    flat = [t for p in lists for t in p]
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in lists])]).astype(np.int64)
    return Playlists(pa.array(flat, pa.string()), pa.nulls(len(flat), pa.string()), offsets, "test")


def test_vocab_counts_order_and_filter():
    pl = make_playlists([["b", "a", "c"], ["a", "b", "d"], ["a", "e", "e"]])
    v = build_vocabulary(pl, min_count=2)
    # a:3, b:2, e:2 (tie b/e broken by id), c:1 and d:1 dropped
    assert list(v.table["track_id"]) == ["a", "b", "e"]
    assert list(v.table["count"]) == [3, 2, 2]
    assert list(v.table["index"]) == [0, 1, 2]
    assert v.n_tracks_total == 5
    # encoded playlists keep their rows, rare songs removed
    enc = [list(v.values[a:b]) for a, b in zip(v.offsets[:-1], v.offsets[1:])]
    assert enc == [[1, 0], [0, 1], [0, 2, 2]]


def test_vocab_min_count_one_keeps_all(deezer_npy):
    v = build_vocabulary(read_playlists(deezer_npy), min_count=1)
    assert v.size == 4
    assert v.table.set_index("track_id").loc["track_1", "artist_id"] == "artist_10"
    assert v.table["count"].sum() == len(v.values)


def test_vocab_independent_of_playlist_order():
    lists = [["x", "y", "z"], ["y", "z"], ["z", "q", "q"]]
    a = build_vocabulary(make_playlists(lists), 1).table
    b = build_vocabulary(make_playlists(lists[::-1]), 1).table
    assert a.equals(b)


def random_corpus(rng, n=500, V=60):
    lengths = rng.integers(0, 15, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = rng.integers(0, V, offsets[-1]).astype(np.int32)
    return offsets, values


def test_split_invariants():
    rng = np.random.default_rng(0)
    offsets, values = random_corpus(rng)
    sp = split_playlists(offsets, values, n_val=60, n_test=50, seed=4)
    assert len(sp.val) == 60 and len(sp.test) == 50
    # disjoint playlists, all with more than 3 songs
    assert not set(sp.val["playlist"]) & set(sp.test["playlist"])
    lengths = np.diff(offsets)
    for df in (sp.val, sp.test):
        for pid, q, t in df[["playlist", "query", "target"]].itertuples(index=False):
            pl = values[offsets[pid] : offsets[pid + 1]]
            assert lengths[pid] > 3
            assert (q, t) == (pl[-2], pl[-1])
    # training = every playlist without its last song (those with >= 2 songs left)
    train = {
        pid: list(sp.train_values[a:b]) for pid, a, b in zip(sp.train_ids, sp.train_offsets[:-1], sp.train_offsets[1:])
    }
    for pid in range(len(lengths)):
        pl = list(values[offsets[pid] : offsets[pid + 1]])
        if len(pl) - 1 >= 2:
            assert train[pid] == pl[:-1]  # the held-out last song is not in training
        else:
            assert pid not in train


def test_split_no_target_in_own_training_part_when_songs_do_not_repeat():
    rng = np.random.default_rng(1)
    lists = [rng.permutation(40)[: rng.integers(2, 20)] for _ in range(300)]
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in lists])]).astype(np.int64)
    values = np.concatenate(lists).astype(np.int32)
    sp = split_playlists(offsets, values, 50, 50, seed=0)
    train = {
        pid: set(sp.train_values[a:b]) for pid, a, b in zip(sp.train_ids, sp.train_offsets[:-1], sp.train_offsets[1:])
    }
    for df in (sp.val, sp.test):
        for pid, t in df[["playlist", "target"]].itertuples(index=False):
            assert t not in train[pid]


def test_split_seeded_and_without_replacement():
    rng = np.random.default_rng(2)
    offsets, values = random_corpus(rng, n=2000)
    a = split_playlists(offsets, values, 300, 300, seed=4)
    b = split_playlists(offsets, values, 300, 300, seed=4)
    c = split_playlists(offsets, values, 300, 300, seed=5)
    assert a.val.equals(b.val) and a.test.equals(b.test)
    assert not a.val.equals(c.val)
    assert a.val["playlist"].is_unique and a.test["playlist"].is_unique


def test_split_scales_down_with_warning():
    rng = np.random.default_rng(3)
    offsets, values = random_corpus(rng, n=100)
    eligible = int((np.diff(offsets) > 3).sum())
    with pytest.warns(UserWarning, match="validation"):
        sp = split_playlists(offsets, values, 1000, 1000, seed=4)
    assert 0 < len(sp.val) + len(sp.test) <= eligible
    assert abs(len(sp.val) - len(sp.test)) <= 1


def test_split_without_long_playlists_errors():
    offsets = np.array([0, 2, 4])
    values = np.array([0, 1, 1, 0], dtype=np.int32)
    with pytest.raises(ValueError, match="more than 3 songs"):
        split_playlists(offsets, values, 10, 10)


def _with_artists(lists, artists):
    flat = [t for p in lists for t in p]
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in lists])]).astype(np.int64)
    return Playlists(pa.array(flat, pa.string()), pa.array(artists, pa.string()), offsets, "test")


@pytest.mark.parametrize("as_codes", [False, True])
def test_vocab_artist_is_the_most_frequent_then_the_first_in_lexical_order(as_codes):
    lists = [["t1", "t2", "t3"], ["t1", "t2", "t3"], ["t1", "t2", "t4"], ["t4", "t5"]]
    artists = ["b", "y", "x", "b", "z", "x", "a", None, None, None, None]
    pl = _with_artists(lists, artists)
    if as_codes:  # the form the .npy reader hands over: codes into one shared dictionary
        d = pa.array(["t1", "t2", "t3", "t4", "t5", "a", "b", "x", "y", "z"])
        pos = {v: i for i, v in enumerate(d.to_pylist())}
        flat = [t for p in lists for t in p]
        pl = Playlists(
            None,
            None,
            pl.offsets,
            "test",
            (np.array([pos[t] for t in flat]), d),
            (np.array([pos[a] if a else -1 for a in artists]), d),
        )
    v = build_vocabulary(pl, min_count=1)
    got = dict(zip(v.table["track_id"], v.table["artist_id"].astype(object).where(v.table["artist_id"].notna(), None)))
    # t1: b twice, then a once -> b; t2: y, then z, once each -> y (lexical); t3: x twice; t4, t5: none known
    assert got == {"t1": "b", "t2": "y", "t3": "x", "t4": None, "t5": None}


def test_vocab_artist_of_tracks_with_one_artist_each():
    pl = _with_artists([["t1", "t2"], ["t2", "t1", "t3"]], ["a", "c", "c", "a", None])
    v = build_vocabulary(pl, min_count=2)
    assert list(v.table["track_id"]) == ["t1", "t2"] and list(v.table["artist_id"]) == ["a", "c"]


def test_split_of_a_corpus_whose_offsets_do_not_start_at_zero():
    rng = np.random.default_rng(5)
    offsets, values = random_corpus(rng, n=300)
    a = split_playlists(offsets, values, 30, 30, seed=1)
    b = split_playlists(offsets + 3, np.concatenate([[7, 7, 7], values]).astype(np.int32), 30, 30, seed=1)
    assert np.array_equal(a.train_offsets, b.train_offsets) and np.array_equal(a.train_values, b.train_values)
    assert np.array_equal(a.train_ids, b.train_ids) and a.val.equals(b.val) and a.test.equals(b.test)


def test_vocab_artists_index_the_artist_of_each_song(tmp_path):
    """artist_vectors reads vocab.parquet's artist_id: -1 where it is null (no artist known)."""
    import logging

    from track2vec.pipeline.train import vocab_artists

    lists = [["t1", "A", "t2", "B", "t3", "A"], ["t1", "A", "t4", "C"]]
    flat = [t for p in lists for t in p]
    offsets = np.array([0, 3, 5], np.int64)
    pl = Playlists(pa.array(flat[::2], pa.string()), pa.array(flat[1::2], pa.string()), offsets, "test")
    table = build_vocabulary(pl, min_count=1).table.copy()
    table.loc[table["track_id"] == "t4", "artist_id"] = None
    table.to_parquet(tmp_path / "vocab.parquet")
    codes = vocab_artists(str(tmp_path / "vocab.parquet"), logging.getLogger("test"))
    by_track = dict(zip(table["track_id"], codes))
    assert by_track["t1"] == by_track["t3"] >= 0  # the same artist, the same index
    assert by_track["t2"] >= 0 and by_track["t2"] != by_track["t1"]
    assert by_track["t4"] == -1
    assert sorted(set(codes) - {-1}) == [0, 1]
