"""Tests of the synthetic playlist generator (tiny preset only: each test is quick)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from track2vec import synthetic as S
from track2vec.errors import DataError


@pytest.fixture(scope="module")
def tiny() -> S.SyntheticDataset:
    return S.generate("tiny", seed=0)


def _tracks(playlist: list[str]) -> list[str]:
    return playlist[0::2]


def test_deterministic(tiny):
    again = S.generate("tiny", seed=0)
    assert [list(p) for p in again.playlists] == [list(p) for p in tiny.playlists]
    pd.testing.assert_frame_equal(again.metadata, tiny.metadata)
    assert again.model.keys() == tiny.model.keys()
    for k in tiny.model:
        np.testing.assert_array_equal(again.model[k], tiny.model[k])


def test_other_seed_differs(tiny):
    other = S.generate("tiny", seed=1)
    assert [list(p) for p in other.playlists] != [list(p) for p in tiny.playlists]
    assert not other.metadata.equals(tiny.metadata)
    assert other.seed == 1 and other.preset == "tiny"


def test_format(tiny):
    pl = tiny.playlists
    assert isinstance(pl, np.ndarray) and pl.dtype == object and pl.shape == (2000,)
    track_re = re.compile(r"track_[1-9][0-9]*")
    artist_re = re.compile(r"artist_[1-9][0-9]*")
    for p in pl:
        assert type(p) is list and len(p) % 2 == 0 and len(p) >= 6
        assert all(type(t) is str for t in p)
        assert all(track_re.fullmatch(t) for t in p[0::2])
        assert all(artist_re.fullmatch(t) for t in p[1::2])


def test_artist_tokens_match_catalog(tiny):
    m = tiny.model
    index = S.token_to_index(m)
    for p in tiny.playlists[:200]:
        for t, a in zip(p[0::2], p[1::2]):
            j = index[t]
            assert a == f"artist_{m['artist_ids'][m['track_artist'][j]]}"
    tokens = S.track_tokens(m)
    assert tokens.shape == m["track_weight"].shape
    assert all(index[tokens[j]] == j for j in range(0, tokens.size, 97))


def test_tiny_stats(tiny):
    lengths = np.array([len(p) // 2 for p in tiny.playlists])
    assert 22.5 < lengths.mean() < 25.7
    assert lengths.min() >= 3 and lengths.max() > 100
    counts = Counter(t for p in tiny.playlists for t in _tracks(p))
    c = np.array(list(counts.values()))
    assert 1000 < c.size <= tiny.model["track_weight"].size
    assert (c > 1).mean() > 0.5  # many repeated tracks
    assert c.max() > 100  # heavy head
    # Mostly no repeats inside a playlist.
    dup = sum(len(_tracks(p)) - len(set(_tracks(p))) for p in tiny.playlists)
    assert dup < 0.01 * lengths.sum()


def test_metadata(tiny):
    md = tiny.metadata
    assert list(md.columns) == ["track_id", "title", "name", "preview"]
    occurring = {t for p in tiny.playlists for t in _tracks(p)}
    assert md.track_id.is_unique
    assert set(md.track_id) <= occurring
    assert 0.5 < len(md) / len(occurring) < 0.95  # partial coverage
    # The most played tracks are covered.
    counts = Counter(t for p in tiny.playlists for t in _tracks(p))
    top = [t for t, _ in counts.most_common(10)]
    assert set(top) <= set(md.track_id)
    # Popular titles can be looked up by title.
    titles = md.set_index("track_id").title
    assert all((md.title == titles[t]).sum() == 1 for t in top)
    empty = (md.preview == "").mean()
    assert 0.2 < empty < 0.4
    urls = md.preview[md.preview != ""]
    assert urls.str.fullmatch(r"https://cdn-preview\.track2vec\.invalid/stream/\d+\.mp3").all()
    assert (urls.str.extract(r"(\d+)\.mp3")[0] == md.track_id[md.preview != ""].str[6:]).all()
    text = "".join(md.title) + "".join(md.name)
    assert any(ord(ch) > 127 for ch in text)  # accents, like real names
    assert md.title.str.len().min() > 0 and md.name.str.len().min() > 0


def test_probabilities_are_distributions(tiny):
    m = tiny.model
    T = m["track_weight"].size
    start = S.start_probabilities(m)
    assert start.shape == (T,) and start.min() >= 0 and start.sum() == pytest.approx(1.0)
    for c in (0, 1, T // 2, T - 1):
        p = S.next_song_probabilities(m, c)
        assert p.shape == (T,) and p.min() >= 0 and p[c] == 0
        assert p.sum() == pytest.approx(1.0)
        succ = int(m["successor"][c])
        if succ != c:
            assert p[succ] >= m["mixture"][0]
        q = S.next_song_probabilities(m, c, history=[c, succ])
        assert q.sum() == pytest.approx(1.0) and q[succ] < p[succ]
    with pytest.raises(ValueError):
        S.next_song_probabilities(m, T)


def test_oracle_matches_generator(tiny):
    """The exact conditional distribution is calibrated against generated transitions."""
    m = tiny.model
    index = S.token_to_index(m)
    rng = np.random.default_rng(0)
    events = []
    for p in tiny.playlists:
        idx = [index[t] for t in _tracks(p)]
        t = int(rng.integers(1, len(idx)))
        events.append((idx[:t], idx[t]))
    T = m["track_weight"].size
    log_ratio, top_hit, top_p, art_hit, art_p = [], 0, [], 0, []
    for history, nxt in events:
        cur = history[-1]
        probs = S.next_song_probabilities(m, cur, history=history)
        log_ratio.append(np.log(max(probs[nxt], 1e-300) * T))
        best = int(np.argmax(probs))
        top_hit += nxt == best
        top_p.append(probs[best])
        a = m["track_artist"][cur]
        same = slice(m["artist_start"][a], m["artist_start"][a + 1])
        art_hit += m["artist_start"][a] <= nxt < m["artist_start"][a + 1]
        art_p.append(probs[same].sum())
    # The true next song is far more likely under the oracle than by chance.
    assert np.median(log_ratio) > np.log(20)
    # Calibration: hits of the oracle's top song and of "same artist" match expectations.
    for hits, ps in ((top_hit, np.array(top_p)), (art_hit, np.array(art_p))):
        expected, sd = ps.sum(), np.sqrt((ps * (1 - ps)).sum())
        assert abs(hits - expected) < 4 * sd + 1, (hits, expected, sd)


def test_second_song_follows_kernel():
    """Empirical bigram frequencies from one popular start track match K(c, .)."""
    ds = S.generate("tiny", seed=3, n_playlists=6000)
    m = ds.model
    index = S.token_to_index(m)
    firsts = Counter(p[0] for p in ds.playlists)
    tok, n = firsts.most_common(1)[0]
    nexts = Counter(index[p[2]] for p in ds.playlists if p[0] == tok)
    probs = S.next_song_probabilities(m, index[tok])
    top = np.argsort(-probs)[:5]
    observed = np.array([nexts[j] for j in top])
    expected = probs[top] * n
    assert np.all(np.abs(observed - expected) < 4 * np.sqrt(expected) + 2), (observed, expected)


def test_n_playlists_override():
    ds = S.generate("tiny", seed=0, n_playlists=50)
    assert ds.playlists.shape == (50,)
    bigger = S.generate("tiny", seed=0, n_playlists=8000)
    assert bigger.model["track_weight"].size > ds.model["track_weight"].size


@pytest.mark.parametrize(
    "kwargs",
    [
        {"preset": "huge"},
        {"preset": "tiny", "n_playlists": 0},
        {"preset": "tiny", "n_playlists": -5},
        {"preset": "tiny", "seed": -1},
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        S.generate(**kwargs)


def test_write_and_cli(tmp_path, tiny):
    paths = [tmp_path / "sub" / "p.npy", tmp_path / "m.csv", tmp_path / "model.npz"]
    assert (
        S.main(
            [
                "--preset",
                "tiny",
                "--seed",
                "0",
                "--playlists",
                str(paths[0]),
                "--metadata",
                str(paths[1]),
                "--model",
                str(paths[2]),
            ]
        )
        == 0
    )
    pl = np.load(paths[0], allow_pickle=True)
    assert pl.dtype == object and [list(p) for p in pl] == [list(p) for p in tiny.playlists]
    md = pd.read_csv(paths[1], keep_default_na=False, encoding="utf-8")
    pd.testing.assert_frame_equal(md, tiny.metadata, check_dtype=False)
    model = S.load_model(paths[2])
    for k in tiny.model:
        np.testing.assert_array_equal(model[k], tiny.model[k])
    np.testing.assert_allclose(S.next_song_probabilities(model, 5), S.next_song_probabilities(tiny.model, 5))
    # No temporary files left behind.
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["m.csv", "model.npz", "p.npy"]
    # a model of another generator version is refused, naming the file and the fix
    np.savez(tmp_path / "old.npz", **{**model, "version": np.array(S.MODEL_VERSION + 1)})
    with pytest.raises(DataError, match=r"old\.npz.*version.*forcerun synthetic"):
        S.load_model(tmp_path / "old.npz")


def test_cli_errors_and_help(tmp_path):
    with pytest.raises(SystemExit) as exc:
        S.main(["--preset", "nope", "--playlists", "a", "--metadata", "b", "--model", "c"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        S.main(["--n-playlists", "0", "--playlists", "a", "--metadata", "b", "--model", "c"])
    assert exc.value.code == 2
    out = subprocess.run(
        [sys.executable, "-m", "track2vec.synthetic", "--help"], capture_output=True, text=True, check=True
    )
    assert "--n-playlists" in out.stdout and "--preset" in out.stdout
    assert not list(tmp_path.iterdir())
