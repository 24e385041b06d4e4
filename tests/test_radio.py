"""The radio: artist separation, anchoring, its measures and the radio quality table.

The rules are checked against a brute-force walk: every unplayed song ranked in float64, the
candidate list widened by doubling until it holds a song that keeps the rules. With the rules
off and no anchor the walk is the seed's (a copy of its loop below).
"""

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from track2vec import cli, radio
from track2vec.baselines import Baseline
from track2vec.catalog import Catalog, generator_genres
from track2vec.models import complete_playlists, popularity_prior
from track2vec.radio import (
    RadioWalk,
    describe_measures,
    measure_walk,
    per_artist_limit,
    popular_seeds,
    to_html,
    walk_radio,
    walk_radios,
)
from track2vec.report import radio_quality_html, radio_quality_summary

#: the seed's radio: each song among the nearest neighbours of the current one, no artist rules
TODAY = {"anchor": 0.0, "max_artist_run": None, "max_per_artist": None}
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_catalog(artists, previews=None, counts=None):
    """A catalog of len(artists) songs: song i by ``artist_<artists[i]>`` (unknown when negative)."""
    V = len(artists)
    previews = [True] * V if previews is None else previews
    vocab = pd.DataFrame(
        {
            "index": np.arange(V),
            "track_id": [f"track_{i}" for i in range(V)],
            "count": np.arange(V, 0, -1) if counts is None else counts,
            "artist_id": [f"artist_{a}" if a >= 0 else "" for a in artists],
        }
    )
    meta = pd.DataFrame(
        {
            "track_id": vocab["track_id"],
            "title": [f"Song {i}" for i in range(V)],
            "name": [f"Artist {a}" if a >= 0 else "" for a in artists],
            "preview": [f"http://x/{i}.mp3" if p else "" for i, p in enumerate(previews)],
        }
    )
    return Catalog(vocab, meta)


def todays_walk(model, catalog, song, nb_steps, nb_candidates, seed, metric="cosine", prior=None):
    """(index, score, candidates) of each song of the seed's radio walk (its loop, verbatim)."""
    rng = np.random.default_rng(seed)
    current = catalog.resolve(song)
    visited = [current]
    out = [(current, None, [])]
    for _step in range(1, nb_steps + 1):
        k = min(nb_candidates, catalog.size - len(visited))
        if k < 1:
            break
        cand, scores = complete_playlists(model, [visited], k=k, metric=metric, prior=prior)
        pick = int(rng.integers(k))
        current = int(cand[0, pick])
        visited.append(current)
        out.append((current, float(scores[0, pick]), cand[0].tolist()))
    return out


def _songs(walk):
    return [(t["index"], t["score"], t["candidates"]) for t in walk.tracks]


def brute_ranking(emb, visited, seed_song, anchor, metric, prior):
    """Every song not in ``visited``, best first: ``(1 - anchor) s(current) + anchor s(seed) + prior``
    with s the cosine, or minus half the squared distance (euclidean), in float64."""
    x = np.asarray(emb, dtype=np.float64)
    if metric == "cosine":
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        score = (1 - anchor) * (x @ x[visited[-1]]) + anchor * (x @ x[seed_song])
    else:
        d2 = lambda q: ((x - x[q]) ** 2).sum(axis=1)  # noqa: E731
        score = -0.5 * ((1 - anchor) * d2(visited[-1]) + anchor * d2(seed_song))
    if prior is not None:
        score = score + prior
    left = np.setdiff1d(np.arange(len(x)), visited)
    return left[np.lexsort((left, -score[left]))].tolist()


def _trailing(seq, a):
    n = 0
    for b in reversed(seq):
        if b != a:
            break
        n += 1
    return n


def check_walk(walk, emb, catalog, nb_candidates, anchor, run, per, metric="cosine", prior=None):
    """Replay the walk by brute force: each candidate list is the ``nb_candidates`` best songs that
    keep the rules within the shortest doubled list holding one; a rule is broken only when no
    song left keeps it."""
    artists = catalog.artist_codes
    preview = (catalog.songs["preview"] != "").to_numpy()
    visited, walk_artists, heard = [walk.tracks[0]["index"]], [artists[walk.tracks[0]["index"]]], []
    if preview[visited[0]]:
        heard.append(artists[visited[0]])
    widened = broken = 0

    def keeps(j, run, per):
        a = artists[j]
        if a < 0:
            return True
        if per is not None and walk_artists.count(a) >= per:
            return False
        if run is not None and (_trailing(walk_artists, a) >= run or (preview[j] and _trailing(heard, a) >= run)):
            return False
        return True

    for t in walk.tracks[1:]:
        ranked = brute_ranking(emb, visited, visited[0], anchor, metric, prior)
        k0 = width = min(nb_candidates, len(ranked))
        while not any(keeps(j, run, per) for j in ranked[:width]) and width < len(ranked):
            width = min(2 * width, len(ranked))
        widened += width > k0
        expected = [j for j in ranked[:width] if keeps(j, run, per)][:nb_candidates]
        if not expected:
            broken += 1
            expected = [j for j in ranked if keeps(j, run, None)][:nb_candidates] or ranked[:k0]
        assert t["candidates"] == expected, (t["step"], t["candidates"], expected)
        assert t["index"] in expected
        visited.append(t["index"])
        walk_artists.append(artists[t["index"]])
        if preview[t["index"]]:
            heard.append(artists[t["index"]])
    assert walk.measures["n_widened"] == widened and walk.measures["n_rule_broken"] == broken
    return walk_artists, heard


@st.composite
def layouts(draw):
    """A catalog and an embedding: random artists (some unknown), previews and vectors, or songs
    clustered by artist, so that a song's nearest neighbours are its artist's."""
    V = draw(st.integers(6, 36))
    n_artists = draw(st.integers(1, 6))
    artists = draw(st.lists(st.integers(-1, n_artists - 1), min_size=V, max_size=V))
    previews = draw(st.lists(st.booleans(), min_size=V, max_size=V))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    emb = rng.normal(size=(V, 4))
    if draw(st.booleans()):
        centres = rng.normal(size=(n_artists + 1, 4)) * 3
        emb = centres[np.asarray(artists)] + 0.1 * emb
    return make_catalog(artists, previews), emb.astype(np.float32)


rule_settings = st.fixed_dictionaries(
    {
        "nb_steps": st.integers(0, 40),
        "nb_candidates": st.integers(1, 6),
        "anchor": st.sampled_from([0.0, 0.35, 1.0]),
        "max_artist_run": st.sampled_from([None, 1, 2, 3]),
        "max_per_artist": st.sampled_from([None, "auto", 1, 2, 4]),
        "metric": st.sampled_from(["cosine", "euclidean"]),
        "seed": st.integers(0, 3),
    }
)


# ---------------------------------------------------------------------------------- the rules
@SETTINGS
@given(layouts(), rule_settings, st.booleans())
def test_the_artist_rules_hold_on_any_layout(layout, cfg, with_prior):
    catalog, emb = layout
    prior = popularity_prior(catalog.songs["count"].to_numpy(), 0.05) if with_prior else None
    song = int(np.random.default_rng(cfg["seed"]).integers(catalog.size))
    walk = walk_radio(emb, catalog, song, prior=prior, **cfg)
    again = walk_radio(emb, catalog, song, prior=prior, **cfg)
    assert walk.to_dict() == again.to_dict()  # deterministic for a seed
    idx = [t["index"] for t in walk.tracks]
    assert len(idx) == len(set(idx)) == min(cfg["nb_steps"] + 1, catalog.size)
    run, per = cfg["max_artist_run"], per_artist_limit(cfg["max_per_artist"], cfg["nb_steps"])
    assert (walk.anchor, walk.max_artist_run, walk.max_per_artist) == (cfg["anchor"], run, per)
    walk_artists, heard = check_walk(
        walk, emb, catalog, cfg["nb_candidates"], cfg["anchor"], run, per, cfg["metric"], prior
    )
    m = walk.measures
    if m["n_rule_broken"] == 0:
        known = [a for a in walk_artists if a >= 0]
        if run is not None:
            assert m["longest_artist_run"] <= run
            assert all(_trailing(heard[: i + 1], a) <= run for i, a in enumerate(heard) if a >= 0)
        if per is not None:
            assert max(np.bincount(known), default=0) <= per
    else:
        assert sum("this step breaks" in line for line in walk.messages) == m["n_rule_broken"]
    assert sum("widened" in line for line in walk.messages) == m["n_widened"]
    assert m["distinct_artists"] == len({a for a in walk_artists if a >= 0})


def test_every_candidate_by_the_same_artist_widens_the_list_and_says_so():
    # songs 0-19 by artist 0 on a tight cluster, 20-29 by five others far away
    artists = [0] * 20 + [1, 2, 3, 4, 5] * 2
    rng = np.random.default_rng(0)
    emb = np.r_[np.ones((20, 3)) + 0.01 * rng.normal(size=(20, 3)), -np.ones((10, 3)) + 0.5 * rng.normal(size=(10, 3))]
    catalog = make_catalog(artists)
    walk = walk_radio(emb, catalog, 0, nb_steps=8, nb_candidates=4, seed=0, anchor=0.0, max_artist_run=1)
    assert walk.measures["longest_artist_run"] == 1 and walk.measures["n_rule_broken"] == 0
    widened = [m for m in walk.messages if "widened" in m]
    # 4, 8, 16, then every one of the 29 songs left: the nearest ones by another artist are far
    assert widened[0] == "step 1: each of the 4 candidates breaks an artist rule; the list widened to 29"
    assert all(
        re.fullmatch(r"step \d+: each of the 4 candidates breaks an artist rule; the list widened to \d+", m)
        for m in widened
    )
    assert catalog.artist_codes[walk.tracks[1]["index"]] != 0
    # the page and the command count the widened lists in one line; the JSON lists them
    summary = (
        f"the candidate list widened at {len(widened)} of 8 steps to keep artists apart (the JSON file lists them)"
    )
    assert walk.notes() == [summary]
    page = to_html(walk)
    assert summary in page and "widened to 29" not in page
    check_walk(walk, emb, catalog, 4, 0.0, 1, per_artist_limit("auto", 8))
    # today's walk plays artist 0 all along
    today = walk_radio(emb, catalog, 0, nb_steps=8, nb_candidates=4, seed=0, **TODAY)
    assert today.measures["distinct_artists"] == 1 and today.measures["longest_artist_run"] == 9


def test_a_radio_of_one_artist_breaks_the_rules_and_says_so():
    catalog = make_catalog([7] * 12)
    emb = np.random.default_rng(1).normal(size=(12, 3)).astype(np.float32)
    walk = walk_radio(emb, catalog, 0, nb_steps=5, nb_candidates=3, seed=2, max_per_artist=2)
    assert walk.measures["n_rule_broken"] == 5 and walk.measures["longest_artist_run"] == 6
    broke = [m for m in walk.messages if "breaks" in m and "widened" not in m]
    assert broke[0] == "step 1: no song left keeps the artist rules; this step breaks max_artist_run (1)"
    assert broke[-1].endswith("breaks max_artist_run (1) and max_per_artist (2)")
    check_walk(walk, emb, catalog, 3, radio.ANCHOR, 1, 2)


def test_songs_of_an_unknown_artist_keep_every_rule():
    catalog = make_catalog([-1] * 30)
    emb = np.random.default_rng(2).normal(size=(30, 5)).astype(np.float32)
    for seed in range(3):
        ruled = walk_radio(emb, catalog, 4, nb_steps=12, seed=seed, anchor=0.0, max_artist_run=1, max_per_artist=1)
        today = walk_radio(emb, catalog, 4, nb_steps=12, seed=seed, **TODAY)
        assert _songs(ruled) == _songs(today)
        assert ruled.measures["distinct_artists"] == 0 and ruled.measures["longest_artist_run"] == 0


def test_a_skipped_song_does_not_hide_a_run_from_the_listener():
    # 0 (artist 0), then 1 (artist 1, no preview), then 2 (artist 0) would play artist 0 twice in a row
    artists, previews = [0, 1, 0, 2, 3], [True, False, True, True, True]
    emb = np.array([[1.0, 0.0], [0.99, 0.1], [0.98, 0.2], [0.0, 1.0], [-1.0, 0.0]], dtype=np.float32)
    catalog = make_catalog(artists, previews)
    walk = walk_radio(emb, catalog, 0, nb_steps=2, nb_candidates=1, seed=0, anchor=0.0, max_artist_run=1)
    assert [t["index"] for t in walk.tracks] == [0, 1, 3]
    assert "widened to 2" in walk.messages[-1]


def test_per_artist_limit():
    assert per_artist_limit("auto", 20) == 3 == math.ceil(21 / radio.PER_ARTIST_SHARE)
    assert per_artist_limit("auto", 0) == 1 and per_artist_limit("auto", 13) == 2 and per_artist_limit("auto", 14) == 3
    assert per_artist_limit(None, 20) is None and per_artist_limit(3, 20) == 3
    for bad in (0, -1, "five", 2.5, True):
        with pytest.raises(ValueError):
            per_artist_limit(bad, 20)


def test_walk_checks_the_new_settings():
    catalog = make_catalog([0, 1, 2, 3])
    emb = np.eye(4, dtype=np.float32)
    for kwargs in ({"anchor": -0.1}, {"anchor": 1.5}, {"max_artist_run": 0}, {"max_per_artist": 0}):
        with pytest.raises(ValueError):
            walk_radio(emb, catalog, 0, **kwargs)


# ---------------------------------------------------------------------------------- today's walk
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_anchor_0_and_no_rules_is_todays_walk(metric):
    catalog = make_catalog([i % 4 for i in range(60)], [i % 5 != 2 for i in range(60)])
    emb = np.random.default_rng(3).normal(size=(60, 6)).astype(np.float32)
    prior = popularity_prior(catalog.songs["count"].to_numpy(), 0.1)
    for seed in range(4):
        for p in (None, prior):
            expected = todays_walk(emb, catalog, "#7", 25, 5, seed, metric=metric, prior=p)
            walk = walk_radio(
                emb, catalog, "#7", nb_steps=25, nb_candidates=5, seed=seed, metric=metric, prior=p, **TODAY
            )
            assert _songs(walk) == expected
    # to the end of the vocabulary, and with baselines
    walk = walk_radio(emb, catalog, 3, nb_steps=70, nb_candidates=3, seed=1, metric=metric, **TODAY)
    assert _songs(walk) == todays_walk(emb, catalog, 3, 70, 3, 1, metric=metric)
    assert walk.messages[-1] == "step 60: every song has been played; the radio stops"
    counts = catalog.songs["count"].to_numpy()
    offsets, values = np.array([0, 30, 60]), np.random.default_rng(4).permutation(np.r_[np.arange(60)])
    for model in (Baseline("popularity", counts), Baseline.fit("cooccurrence", offsets, values, 60, window=2)):
        walk = walk_radio(model, catalog, 5, nb_steps=10, nb_candidates=4, seed=0, metric=metric, **TODAY)
        assert _songs(walk) == todays_walk(model, catalog, 5, 10, 4, 0, metric=metric)


def test_walks_together_are_the_walks_one_by_one():
    catalog = make_catalog([i % 7 for i in range(200)])
    emb = np.random.default_rng(5).normal(size=(200, 8)).astype(np.float32)
    prior = popularity_prior(catalog.songs["count"].to_numpy(), 0.02)
    seeds = list(range(0, 200, 10))  # 20 walks: the searches go through the tiled path
    for kwargs in (TODAY, {}):
        together = walk_radios(emb, catalog, seeds, nb_steps=15, seed=3, prior=prior, **kwargs)
        for s, walk in zip(seeds, together, strict=True):
            alone = walk_radio(emb, catalog, s, nb_steps=15, seed=3, prior=prior, **kwargs)
            assert [t["index"] for t in walk.tracks] == [t["index"] for t in alone.tracks]
            assert [t["candidates"] for t in walk.tracks] == [t["candidates"] for t in alone.tracks]
            np.testing.assert_allclose(
                [t["score"] or 0 for t in walk.tracks], [t["score"] or 0 for t in alone.tracks], rtol=0, atol=1e-12
            )
    assert walk_radios(emb, catalog, [], nb_steps=3) == []


# ---------------------------------------------------------------------------------- anchoring
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_the_anchored_score_is_the_mix_of_the_two_similarities(metric):
    catalog = make_catalog([-1] * 80)
    emb = np.random.default_rng(6).normal(size=(80, 5)).astype(np.float32)
    prior = popularity_prior(catalog.songs["count"].to_numpy(), 0.05)
    for anchor in (0.25, 0.6, 1.0):
        walk = walk_radio(emb, catalog, 11, nb_steps=12, seed=1, metric=metric, prior=prior, anchor=anchor)
        check_walk(walk, emb, catalog, radio.NB_CANDIDATES, anchor, radio.MAX_ARTIST_RUN, None, metric, prior)
        if metric == "cosine":
            x = emb / np.linalg.norm(emb, axis=1, keepdims=True)
            for prev, t in zip(walk.tracks, walk.tracks[1:], strict=False):
                mix = (1 - anchor) * x[prev["index"]] @ x[t["index"]] + anchor * x[11] @ x[t["index"]]
                assert t["score"] == pytest.approx(mix, abs=1e-6)
                assert t["seed_similarity"] == pytest.approx(x[11] @ x[t["index"]], abs=1e-6)
    # anchor 1: every list is among the seed's nearest neighbours
    walk = walk_radio(emb, catalog, 11, nb_steps=10, nb_candidates=3, seed=0, metric=metric, anchor=1.0)
    ranked = brute_ranking(emb, [11], 11, 1.0, metric, None)
    assert {t["index"] for t in walk.tracks[1:]} <= set(ranked[:12])


def test_anchoring_keeps_the_radio_near_its_seed():
    # songs on a circle: today's walk wanders off, the anchored one stays near song 0
    V = 120
    angle = np.arange(V) * 2 * np.pi / V
    emb = np.c_[np.cos(angle), np.sin(angle)].astype(np.float32)
    catalog = make_catalog([-1] * V)
    far = walk_radio(emb, catalog, 0, nb_steps=40, seed=0, **TODAY).measures["mean_seed_similarity"]
    near = walk_radio(emb, catalog, 0, nb_steps=40, seed=0, anchor=0.7).measures["mean_seed_similarity"]
    assert near > far + 0.2


def test_a_baseline_ranks_from_the_current_song_whatever_the_anchor():
    catalog = make_catalog([i % 6 for i in range(50)])
    counts = catalog.songs["count"].to_numpy()
    model = Baseline("popularity", counts)
    walk = walk_radio(model, catalog, 9, nb_steps=8, nb_candidates=3, seed=0, anchor=0.5)
    assert walk.anchor == 0.0 and walk.messages[0].startswith("anchor 0.5 does not apply to a baseline (popularity)")
    assert all(t["seed_similarity"] is None for t in walk.tracks)
    assert walk.measures["mean_seed_similarity"] is None and walk.measures["longest_artist_run"] == 1
    same = walk_radio(model, catalog, 9, nb_steps=8, nb_candidates=3, seed=0, anchor=0.0)
    assert _songs(walk) == _songs(same)


# ---------------------------------------------------------------------------------- measures
def test_measures_of_a_hand_made_walk():
    tracks = [
        {"index": 0, "artist_id": "a", "seed_similarity": 1.0},
        {"index": 1, "artist_id": "b", "seed_similarity": 0.8},
        {"index": 2, "artist_id": "b", "seed_similarity": 0.6},
        {"index": 3, "artist_id": "b", "seed_similarity": 0.4},
        {"index": 4, "artist_id": "", "seed_similarity": 0.2},
        {"index": 5, "artist_id": "b", "seed_similarity": None},
        {"index": 6, "artist_id": "c", "seed_similarity": 0.0},
    ]
    genres = np.array([3, 3, 1, 3, -1, 3, 2])
    m = measure_walk(tracks, genres)
    assert m == {
        "n_songs": 7,
        "distinct_artists": 3,
        "longest_artist_run": 3,  # b, b, b; the unknown artist ends the run
        "mean_seed_similarity": pytest.approx(0.4),
        "same_genre_share": pytest.approx(3 / 6),
    }
    assert measure_walk(tracks)["same_genre_share"] is None
    assert measure_walk(tracks, np.r_[-1, genres[1:]])["same_genre_share"] is None  # the seed's genre unknown
    assert measure_walk(tracks[:1], genres) == {
        "n_songs": 1,
        "distinct_artists": 1,
        "longest_artist_run": 1,
        "mean_seed_similarity": None,
        "same_genre_share": None,
    }
    assert measure_walk([])["n_songs"] == 0
    line = describe_measures(m)
    assert line == (
        "3 artists in 7 songs · longest same-artist run 3 · mean similarity to the seed 0.400 · 50% in the seed's genre"
    )
    assert describe_measures({}) == ""


def test_the_json_and_the_page_show_the_measures(tmp_path):
    catalog = make_catalog([i % 5 for i in range(40)], [i % 4 != 3 for i in range(40)])
    emb = np.random.default_rng(7).normal(size=(40, 4)).astype(np.float32)
    genres = np.arange(40) % 2
    walk = walk_radio(emb, catalog, "Song 2", nb_steps=10, seed=0, genres=genres)
    d = walk.to_dict()
    assert d["anchor"] == radio.ANCHOR and d["max_artist_run"] == 1 and d["max_per_artist"] == 2  # 11 songs
    assert set(d["measures"]) == {
        "n_songs",
        "distinct_artists",
        "longest_artist_run",
        "mean_seed_similarity",
        "same_genre_share",
        "n_widened",
        "n_rule_broken",
    }
    assert d["measures"]["same_genre_share"] == np.mean([genres[t["index"]] == 0 for t in walk.tracks[1:]])
    assert all({"artist_id", "seed_similarity"} <= set(t) for t in d["tracks"])
    page = to_html(walk)
    assert describe_measures(walk.measures) in page.replace("&#x27;", "'")
    assert f"anchor {radio.ANCHOR:g}" in page and "at most 1 in a row, at most 2 in all" in page
    json.dumps(d)  # JSON-ready
    # a walk made by hand (no measures) still renders
    assert "Radio: x" in to_html(RadioWalk("x", -1, 3, 5, 0, None, "cosine"))


def test_genres_from_the_generator(tmp_path):
    from track2vec.synthetic import MODEL_VERSION

    path = tmp_path / "model.npz"
    np.savez(
        path,
        version=np.array(MODEL_VERSION),
        track_ids=np.array([11, 12, 13]),
        track_artist=np.array([0, 0, 1]),
        artist_genre=np.array([4, 9]),
    )
    assert generator_genres(["track_13", "track_11", "track_99"], path).tolist() == [9, 4, -1]


def test_popular_seeds_are_drawn_among_the_most_played():
    counts = np.r_[np.arange(50, 0, -1), 100]  # song 50 is the most played
    catalog = make_catalog([0] * 51, counts=counts)
    seeds = popular_seeds(catalog, 5, 10, seed=0)
    top10 = set(np.argsort(-counts, kind="stable")[:10].tolist())
    assert len(seeds) == 5 == len(set(seeds)) and set(seeds.tolist()) <= top10
    assert (np.diff(counts[seeds]) <= 0).all()  # most played first
    assert popular_seeds(catalog, 5, 10, seed=0).tolist() == seeds.tolist()
    assert popular_seeds(catalog, 5, 10, seed=1).tolist() != seeds.tolist()
    assert len(popular_seeds(catalog, 100, 10)) == 10 and len(popular_seeds(catalog, 0, 10)) == 0


# ---------------------------------------------------------------------------------- defaults and the command
def test_defaults_are_config_yamls():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())["radio"]
    schema = yaml.safe_load((ROOT / "track2vec" / "schemas" / "config.schema.yaml").read_text())
    defaults = {k: v["default"] for k, v in schema["properties"]["radio"]["properties"].items()}
    for key, value in {
        "nb_steps": radio.NB_STEPS,
        "nb_candidates": radio.NB_CANDIDATES,
        "anchor": radio.ANCHOR,
        "max_artist_run": radio.MAX_ARTIST_RUN,
        "max_per_artist": radio.MAX_PER_ARTIST,
    }.items():
        assert config[key] == defaults[key] == value, key
    args = cli.build_parser().parse_args(["radio", "x"])
    assert (args.nb_steps, args.nb_candidates, args.anchor) == (radio.NB_STEPS, radio.NB_CANDIDATES, radio.ANCHOR)
    assert (args.max_artist_run, args.max_per_artist) == (radio.MAX_ARTIST_RUN, radio.MAX_PER_ARTIST)


def test_radio_command_flags():
    parse = cli.build_parser().parse_args
    args = parse(["radio", "x", "--anchor", "0", "--max-artist-run", "off", "--max-per-artist", "off"])
    assert (args.anchor, args.max_artist_run, args.max_per_artist) == (0.0, None, None)
    args = parse(["radio", "x", "--anchor", "0.5", "--max-artist-run", "2", "--max-per-artist", "auto"])
    assert (args.anchor, args.max_artist_run, args.max_per_artist) == (0.5, 2, "auto")
    assert parse(["radio", "x", "--max-per-artist", "4"]).max_per_artist == 4
    for bad in (["--anchor", "1.5"], ["--anchor", "x"], ["--max-artist-run", "0"], ["--max-per-artist", "auto2"]):
        with pytest.raises(SystemExit):
            parse(["radio", "x", *bad])


# ---------------------------------------------------------------------------------- the quality table
def _quality_table():
    rows = []
    for i, (today, new) in enumerate([((2, 9, 0.5, 0.9), (11, 1, 0.6, 0.95)), ((4, 5, 0.4, 1.0), (13, 1, 0.5, 1.0))]):
        for walk, (artists, run, sim, share) in (("today", today), ("radio", new)):
            rows.append(
                {
                    "walk": walk,
                    "seed_index": i,
                    "track_id": f"track_{i}",
                    "title": f"Song {i}",
                    "artist": "A",
                    "n_songs": 21,
                    "distinct_artists": artists,
                    "longest_artist_run": run,
                    "mean_seed_similarity": sim,
                    "same_genre_share": share,
                    "n_widened": 0 if walk == "today" else 3,
                    "n_rule_broken": 0,
                }
            )
    return pd.DataFrame(rows)


def test_quality_summary_and_page(tmp_path):
    summary = radio_quality_summary(_quality_table())
    assert list(summary.index) == ["today", "radio"]
    assert summary.loc["today", "distinct_artists_mean"] == 3 and summary.loc["radio", "distinct_artists_min"] == 11
    assert summary.loc["today", "longest_artist_run_max"] == 9 and summary.loc["radio", "longest_artist_run_max"] == 1
    assert summary.loc["radio", "mean_seed_similarity"] == pytest.approx(0.55)
    assert summary.loc["radio", "same_genre_share"] == pytest.approx(0.975)
    assert summary.loc["radio", "n_widened"] == 3 and summary.loc["radio", "seeds"] == 2
    page = tmp_path / "q.html"
    settings = {"entry": "tuned", "seeds": 2, "among": 10, "anchor": 0.3, "max_artist_run": 1, "max_per_artist": None}
    radio_quality_html(_quality_table(), page, settings)
    text = page.read_text()
    assert "today&#x27;s walk" in text and "share in the seed&#x27;s genre" in text and "entry tuned" in text
    assert "songs per artist: at most 1 in a row, no limit in all" in text
    assert "<td>13</td>" in text  # the radio's most distinct artists
    # without genres (a user's file) the column is left out
    no_genre = _quality_table().assign(same_genre_share=np.nan)
    radio_quality_html(no_genre, page)
    assert "genre" not in page.read_text()


def test_radio_quality_rule_outputs(tiny_run):
    table = pd.read_csv(tiny_run / "radio" / "quality.tsv", sep="\t")
    config = yaml.safe_load((ROOT / "config.yaml").read_text())["radio"]
    assert list(table["walk"].unique()) == ["today", "radio"]
    assert len(table) == 2 * config["quality_seeds"]
    assert (table["n_songs"] == 9).all()  # tests/tiny.yaml: 8 steps
    new, today = table[table["walk"] == "radio"], table[table["walk"] == "today"]
    assert (new["seed_index"].to_numpy() == today["seed_index"].to_numpy()).all()
    assert (new.loc[new["n_rule_broken"] == 0, "longest_artist_run"] <= config["max_artist_run"]).all()
    assert new["distinct_artists"].mean() > today["distinct_artists"].mean()
    assert table["same_genre_share"].notna().all()  # the built-in dataset: genres known
    page = (tiny_run / "report" / "radio_quality.html").read_text(encoding="utf-8")
    assert "radio quality" in page and "distinct artists" in page
    assert (tiny_run / "logs" / "radio_quality.log").exists()
    assert (tiny_run / "benchmarks" / "radio_quality.tsv").exists()
    walk = json.loads((tiny_run / "radio" / "holy-planet.json").read_text())
    assert walk["measures"]["longest_artist_run"] <= config["max_artist_run"] or walk["measures"]["n_rule_broken"]
    assert walk["measures"]["same_genre_share"] is not None
