"""Song search, playlist completion, radio: the catalog, the radio walk, the Python API, the track2vec
command and the radio rule."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import track2vec.recommend
from track2vec import catalog as catalog_module
from track2vec import cli, radio
from track2vec.baselines import Baseline
from track2vec.catalog import Catalog, SongNotFoundError, read_metadata
from track2vec.errors import DataError
from track2vec.io import read_sequences
from track2vec.knn import nearest_neighbours
from track2vec.metrics import hr_ndcg
from track2vec.models import Embedding, complete_playlists
from track2vec.radio import RadioWalk, to_html, to_m3u8, walk_radio
from track2vec.recommend import Recommender
from track2vec.text import normalize_title, slugify


# ---------------------------------------------------------------------------------- a small model
@pytest.fixture
def small_data():
    """40 songs on a noisy circle (neighbours = adjacent songs); metadata for most of them (not 9 and 10);
    no preview for every fourth song (3, 7, 11, ...)."""
    V = 40
    rng = np.random.default_rng(0)
    angle = np.arange(V) * 2 * np.pi / V
    emb = np.c_[np.cos(angle), np.sin(angle), 0.01 * rng.normal(size=(V, 2))].astype(np.float32)
    vocab = pd.DataFrame(
        {
            "index": np.arange(V),
            "track_id": [f"track_{100 + i}" for i in range(V)],
            "count": np.arange(V, 0, -1) + 1,
            "artist_id": [f"artist_{i % 5}" for i in range(V)],
        }
    )
    titles = {0: "Café Déjà-vu", 1: "Cafe", 2: "Le café du coin", 3: "CAFÉ DÉJÀ-VU (Live)", 5: "Mañana", 7: "NA"}
    meta = pd.DataFrame(
        {
            "track_id": [f"track_{100 + i}" for i in range(V) if i not in (9, 10)],
            "title": [titles.get(i, f"Song {i}") for i in range(V) if i not in (9, 10)],
            "name": [f"Artist {i % 5}" for i in range(V) if i not in (9, 10)],
            "preview": ["" if i % 4 == 3 else f"http://x/{i}.mp3" for i in range(V) if i not in (9, 10)],
        }
    )
    return vocab, emb, meta


@pytest.fixture
def small(small_data):
    vocab, emb, meta = small_data
    return Recommender(vocab, emb, meta, metric="cosine", entry="small")


@pytest.fixture
def catalog(small_data):
    vocab, _, meta = small_data
    return Catalog(vocab, meta)


def test_text_helpers():
    assert normalize_title("  Café  DÉJÀ-vu ") == "cafe deja-vu"
    assert normalize_title("Ångström") == normalize_title("angstrom")
    assert slugify("Mañana Será (Live)") == "manana-sera-live"
    assert slugify("♪♪") == "seed"


# ---------------------------------------------------------------------------------- the catalog
def test_catalog_joins_the_vocabulary_and_its_metadata(catalog, small_data):
    vocab, _, _ = small_data
    songs = catalog.songs
    assert catalog.size == len(songs) == 40 and songs["index"].tolist() == list(range(40))
    assert {"track_id", "count", "artist_id", "title", "artist", "preview", "has_metadata"} <= set(songs.columns)
    assert songs["track_id"].tolist() == vocab["track_id"].tolist()
    assert not songs["has_metadata"].iloc[[9, 10]].any() and songs["has_metadata"].sum() == 38
    assert songs.loc[9, "title"] == "" and songs.loc[9, "artist"] == "artist_4"  # the artist's id stands in
    assert songs.loc[7, "title"] == "NA"  # a title, not a missing value
    assert catalog.track(5) == {
        "index": 5,
        "track_id": "track_105",
        "title": "Mañana",
        "artist": "Artist 0",
        "preview": "http://x/5.mp3",
        "count": 36,
    }
    assert catalog.label(5) == "Mañana — Artist 0"


def test_catalog_without_metadata_and_with_bare_numeric_ids(small_data):
    vocab, _, meta = small_data
    bare = Catalog(vocab)
    assert bare.size == 40 and not bare.songs["has_metadata"].any()
    assert bare.label(3) == "track_103 — artist_3" and bare.track(3)["title"] == "track_103"
    assert bare.find("song").empty and bare.resolve("track_103") == 3
    # TracksArtists.csv may hold bare Deezer ids where the playlists say track_<id>
    numeric = meta.assign(track_id=meta["track_id"].str.removeprefix("track_"))
    assert Catalog(vocab, numeric).songs.equals(Catalog(vocab, meta).songs)


def test_find_exact_first_then_partial_accent_and_case_insensitive(catalog):
    hits = catalog.find("cafe deja-vu")
    assert list(hits["index"]) == [0, 3] and list(hits["match"]) == ["exact", "partial"]
    hits = catalog.find("CAFÉ")
    assert list(hits["index"]) == [1, 0, 2, 3]  # the exact match first, then by popularity
    assert list(hits["match"]) == ["exact", "partial", "partial", "partial"]
    assert list(hits.columns) == ["index", "track_id", "title", "artist", "count", "preview", "match"]
    assert catalog.find("  café   DÉJÀ-VU ")["index"].tolist() == [0, 3]  # spaces collapsed too
    assert catalog.find("manana")["title"].tolist() == ["Mañana"]
    assert catalog.find("MAÑANA")["match"].tolist() == ["exact"]
    assert catalog.find("NA", limit=1)["index"].tolist() == [7]  # "NA" is a title, not a missing value
    assert catalog.find("cafe", limit=2)["index"].tolist() == [1, 0]
    assert catalog.find("nothing like this").empty
    empty = catalog.find("   ")
    assert empty.empty and "match" in empty.columns


def test_resolve_ids_titles_and_indices(catalog):
    assert catalog.resolve("track_105") == 5 and catalog.resolve(" track_105 ") == 5
    assert catalog.resolve("#12") == 12 and catalog.resolve(12) == 12 and catalog.resolve(np.int64(12)) == 12
    assert catalog.resolve("mañana") == 5 and catalog.resolve("cafe") == 1  # exact before partial
    assert catalog.resolve("déjà") == 0  # partial: the most played first
    assert catalog.resolve("track_109") == 9  # no metadata: still usable by id


def test_resolve_says_what_to_give_when_nothing_matches(catalog):
    with pytest.raises(SongNotFoundError) as exc:
        catalog.resolve("no such song")
    message = str(exc.value)
    assert "'no such song'" in message and "title" in message and "'track_100'" in message
    assert "#<vocabulary index>" in message and "track2vec find" in message
    assert isinstance(exc.value, LookupError)
    for index in (400, -1, "#40"):
        with pytest.raises(SongNotFoundError, match="the vocabulary has 40 songs"):
            catalog.resolve(index)


def test_recommender_delegates_to_its_catalog(small, catalog):
    assert isinstance(small.catalog, Catalog) and small.songs is small.catalog.songs
    assert small.songs.equals(catalog.songs) and small.size == catalog.size == 40
    assert small.find("CAFÉ").equals(catalog.find("CAFÉ"))
    assert small.resolve("mañana") == catalog.resolve("mañana") == 5
    assert small.label(9) == catalog.label(9) and small.track(5) == catalog.track(5)
    with pytest.raises(SongNotFoundError, match="find"):
        small.resolve("no such song")


def test_recommend_re_exports_the_moved_names():
    assert track2vec.recommend.SongNotFoundError is catalog_module.SongNotFoundError
    assert track2vec.recommend.read_metadata is catalog_module.read_metadata
    assert track2vec.recommend.RadioWalk is radio.RadioWalk
    assert {"Recommender", "RadioWalk", "SongNotFoundError", "read_metadata"} <= set(track2vec.recommend.__all__)


def test_layers_import_downwards_only():
    """catalog <- radio <- recommend <- cli; none of them imports the pipeline package."""
    code = (
        "import sys; import track2vec.{mod}; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('track2vec.'))))"
    )
    above = {
        "catalog": {"radio", "recommend", "cli"},
        "radio": {"recommend", "cli"},
        "recommend": {"cli"},
        "cli": set(),
    }
    for mod, higher in above.items():
        out = subprocess.run([sys.executable, "-c", code.format(mod=mod)], capture_output=True, text=True, check=True)
        loaded = set(out.stdout.split())
        assert not {m for m in loaded if m.startswith("track2vec.pipeline")}, (mod, loaded)
        assert not {f"track2vec.{h}" for h in higher} & loaded, (mod, loaded)


def test_songs_without_metadata_are_shown_by_id(small):
    t = small.track(9)
    assert t["title"] == "track_109" and t["artist"] == "artist_4" and t["preview"] == ""
    assert small.label(9) == "track_109 — artist_4"
    out = small.suggest(["track_108"], n=2)
    assert set(out["index"]) == {7, 9} and "track_109" in set(out["title"])


def test_suggest_never_returns_a_song_of_the_playlist(small):
    out = small.suggest(["Song 20", "Song 21"], n=5)
    assert list(out["rank"]) == [1, 2, 3, 4, 5]
    assert not {20, 21} & set(out["index"])
    assert set(out["index"]) <= set(range(17, 26))  # around the last song of the circle
    assert (np.diff(out["score"]) <= 1e-12).all()
    with pytest.raises(ValueError):
        small.suggest(["Song 20"], n=40)


def test_suggest_last_m_uses_the_mean_of_the_last_songs(small):
    # the mean of songs 20 and 24 lies between them: 22 first
    assert small.suggest(["Song 20", "Song 24"], n=1, last=2)["index"].tolist() == [22]
    assert small.suggest(["Song 20", "Song 24"], n=1, last=1)["index"].tolist() in ([23], [25])


def test_complete_playlists_is_nearest_neighbours_for_one_song():
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(300, 8)).astype(np.float32)
    q = rng.integers(0, 300, 50)
    for metric in ("cosine", "euclidean"):
        a = complete_playlists(emb, q[:, None], k=7, metric=metric)
        b = nearest_neighbours(emb, q, k=7, metric=metric)
        assert (a[0] == b[0]).all() and np.array_equal(a[1], b[1])
    # padding with -1, and the playlist's songs excluded
    idx, _ = complete_playlists(emb, [[5, 6, 7], [8, -1, -1]], k=10)
    assert not {5, 6, 7} & set(idx[0]) and 8 not in idx[1]
    assert (idx[0] == nearest_neighbours(emb, [7], k=10, exclude=np.array([[5, 6, 7]]))[0][0]).all()
    with pytest.raises(ValueError):
        complete_playlists(emb, [[-1, 5]], k=3)


#: the seed's radio: each song among the nearest neighbours of the current one (tests/test_radio.py tests the rest)
TODAY = {"anchor": 0.0, "max_artist_run": None, "max_per_artist": None}


def test_radio_never_repeats_and_stays_within_candidates(small):
    for seed in range(5):
        walk = small.radio("Song 20", nb_steps=30, nb_candidates=3, seed=seed, **TODAY)
        idx = [t["index"] for t in walk.tracks]
        assert idx[0] == 20 and len(idx) == 31
        assert len(set(idx)) == len(idx)
        for prev, t in zip(walk.tracks, walk.tracks[1:], strict=False):
            # the candidates are the 3 nearest songs of the previous one, among those not yet played
            played = [u["index"] for u in walk.tracks[: t["step"]]]
            expected = nearest_neighbours(small.model.matrix, [prev["index"]], k=3, exclude=np.array([played]))[0][0]
            assert t["candidates"] == expected.tolist() and t["index"] in t["candidates"]
    a = small.radio("Song 20", nb_steps=10, seed=3).to_dict()
    b = small.radio("Song 20", nb_steps=10, seed=3).to_dict()
    c = small.radio("Song 20", nb_steps=10, seed=4).to_dict()
    assert a == b and a != c


def test_radio_skips_songs_without_preview_and_goes_on(small):
    walk = small.radio("Song 20", nb_steps=39, nb_candidates=2, seed=0, **TODAY)
    skipped = [t for t in walk.tracks if not t["played"]]
    assert len(walk.tracks) == 40 and skipped  # every song, some without preview
    assert all(t["preview"] == "" for t in skipped)
    lines = [m for m in walk.messages if "no preview" in m]
    assert len(lines) == len(skipped)
    m3u = to_m3u8(walk)
    assert m3u.startswith("#EXTM3U\n") and m3u.count("#EXTINF:") == len(walk.played)
    page = to_html(walk)
    assert page.count('class="track"') == len(walk.played) and page.count('class="skipped"') == len(skipped)
    assert "addEventListener('ended'" in page and "addEventListener('error'" in page
    assert "<script src" not in page and "<link" not in page  # self-contained
    # a walk longer than the vocabulary stops when every song has been played
    long = small.radio("Song 20", nb_steps=100, nb_candidates=5, **TODAY)
    assert len(long.tracks) == 40 and "every song" in long.messages[-1]


# ---------------------------------------------------------------------------------- the radio walk
def test_walk_radio_is_the_recommenders_radio(small, catalog, small_data):
    _, emb, _ = small_data
    for model in (emb, Embedding(emb)):
        walk = walk_radio(model, catalog, "Song 20", nb_steps=12, nb_candidates=4, seed=7, entry="small")
        assert isinstance(walk, RadioWalk)
        assert walk.to_dict() == small.radio("Song 20", nb_steps=12, nb_candidates=4, seed=7).to_dict()
    assert walk.query == "Song 20" and walk.seed_index == 20 and walk.metric == "cosine" and walk.entry == "small"


def test_walk_radio_draws_each_song_among_the_candidates_with_the_seeded_generator(catalog, small_data):
    _, emb, _ = small_data
    walk = walk_radio(emb, catalog, "#5", nb_steps=10, nb_candidates=3, seed=11, **TODAY)
    rng = np.random.default_rng(11)
    visited = [5]
    for t in walk.tracks[1:]:
        cand, scores = complete_playlists(emb, [visited], k=3)
        pick = int(rng.integers(3))
        assert t["candidates"] == cand[0].tolist() and t["index"] == cand[0, pick]
        assert t["score"] == float(scores[0, pick])
        visited.append(t["index"])
    assert [t["step"] for t in walk.tracks] == list(range(11))


def test_walk_radio_ranks_with_the_prior_and_with_a_baseline(catalog, small_data):
    vocab, emb, _ = small_data
    prior = np.linspace(0.0, 3.0, 40)  # strong enough to pull the walk towards the last songs
    walk = walk_radio(emb, catalog, "Song 20", nb_steps=5, nb_candidates=2, seed=0, prior=prior, **TODAY)
    played = [walk.tracks[0]["index"]]
    for t in walk.tracks[1:]:
        assert t["candidates"] == complete_playlists(emb, [played], k=2, prior=prior)[0][0].tolist()
        played.append(t["index"])
    # a popularity baseline: the candidates are the most played songs not yet played
    walk = walk_radio(
        Baseline("popularity", vocab["count"].to_numpy()), catalog, "Song 20", nb_steps=3, nb_candidates=2, **TODAY
    )
    played = {20}
    for t in walk.tracks[1:]:
        assert t["candidates"] == sorted(set(range(40)) - played)[:2]
        played.add(t["index"])


def test_walk_radio_records_skipped_songs_with_a_message(catalog, small_data):
    _, emb, _ = small_data
    walk = walk_radio(emb, catalog, "track_109", nb_steps=0)  # no metadata, no preview
    assert [t["index"] for t in walk.tracks] == [9] and walk.played == []
    assert walk.tracks[0] == {
        "index": 9,
        "track_id": "track_109",
        "title": "track_109",
        "artist": "artist_4",
        "artist_id": "artist_4",
        "preview": "",
        "step": 0,
        "played": False,
        "score": None,
        "seed_similarity": 1.0,
        "candidates": [],
    }
    assert walk.messages == ["step 0: skipped track_109 — artist_4: no preview"]
    walk = walk_radio(emb, catalog, "cafe deja-vu (live)", nb_steps=0)
    assert walk.messages == ["step 0: skipped CAFÉ DÉJÀ-VU (Live) — Artist 3 (track_103): no preview"]
    walk = walk_radio(emb, catalog, "Song 20", nb_steps=0)
    assert len(walk.played) == 1 and walk.messages == []


def test_walk_radio_checks_its_arguments(catalog, small_data):
    _, emb, _ = small_data
    for kwargs in ({"nb_steps": -1}, {"nb_candidates": 0}, {"metric": "manhattan"}):
        with pytest.raises(ValueError):
            walk_radio(emb, catalog, "Song 20", **kwargs)
    with pytest.raises(ValueError, match="catalog has 40"):
        walk_radio(emb[:30], catalog, "Song 20")
    with pytest.raises(SongNotFoundError):
        walk_radio(emb, catalog, "no such song")


def test_read_metadata_errors(tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("id,name\n1,x\n")
    with pytest.raises(DataError, match="title"):
        read_metadata(bad)
    with pytest.raises(DataError, match="not found"):
        read_metadata(tmp_path / "none.csv")
    ok = tmp_path / "ok.csv"
    ok.write_text("track_id,title\n1,NA\n1,dup\n")
    df = read_metadata(ok)
    assert df.to_dict("records") == [{"track_id": "1", "title": "NA", "name": "", "preview": ""}]


def test_import_track2vec_is_cheap():
    code = (
        "import sys, track2vec; assert 'tensorflow' not in sys.modules and 'pandas' not in sys.modules; "
        "from track2vec import Recommender; assert 'tensorflow' not in sys.modules; print(Recommender.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "Recommender"


@pytest.mark.parametrize("sub", ["find", "suggest", "radio"])
def test_every_subcommand_has_help(sub, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([sub, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--results" in text and "--entry" in text


# ---------------------------------------------------------------------------------- real results
@pytest.mark.workflow
def test_suggest_hr_at_10_equals_the_grid_table(tiny_run):
    """The default `suggest` path, asked once per validation pair, scores what the grid table says
    (for embeddings and baselines alike; the oracle row is no model)."""
    grid = pd.read_csv(tiny_run / "grid.tsv", sep="\t").set_index("entry")
    val = pd.read_parquet(tiny_run / "split" / "val.parquet")
    assert {"sgns", "popularity", "cooccurrence"} <= set(grid["method"])
    for entry in grid.index[grid["method"] != "oracle"]:
        rec = Recommender.from_results(tiny_run, entry=entry)
        metrics = json.loads((tiny_run / "metrics" / f"{entry}.json").read_text())
        assert rec.metric == metrics["metric"]
        k = int(grid.loc[entry, "k"])
        # what `track2vec suggest '#<query>' -n 10 --last 1` prints, for every pair
        sugg = np.array([rec.suggest([f"#{q}"], n=k, last=1)["index"].to_numpy() for q in val["query"]])
        scores = hr_ndcg(sugg, val["query"].to_numpy(), val["target"].to_numpy(), same_song=metrics["same_song"])
        assert scores["hr_at_k"] == metrics["hr_at_k"]
        assert scores["ndcg_at_k"] == metrics["ndcg_at_k"]
        assert f"{scores['hr_at_k']:.6g}" == f"{grid.loc[entry, 'hr_at_k']:.6g}"


@pytest.mark.workflow
def test_suggest_from_each_validation_playlist_equals_the_context_scores(tiny_run):
    """The tiny preset scores the context protocol too (evaluate.context: all): `suggest`, asked for
    each validation playlist (its songs before the held-out last one) with its default context,
    scores what the grid table's context columns say, for every entry whose context scored best."""
    from track2vec.split import pair_contexts

    grid = pd.read_csv(tiny_run / "grid.tsv", sep="\t").set_index("entry")
    val = pd.read_parquet(tiny_run / "split" / "val.parquet")
    offsets, values, ids = read_sequences(tiny_run / "split" / "train.parquet")
    contexts = pair_contexts(offsets, values, ids, val["playlist"].to_numpy())
    checked = 0
    for entry in grid.index[grid["method"] != "oracle"]:
        metrics = json.loads((tiny_run / "metrics" / f"{entry}.json").read_text())
        ctx = metrics["context"]
        assert ctx["protocol"] == grid.loc[entry, "context"] == "all"
        assert f"{ctx['hr_at_k']:.6g}" == f"{grid.loc[entry, 'context_hr_at_k']:.6g}"
        rec = Recommender.from_results(tiny_run, entry=entry)
        wins = ctx["hr_at_k"] > metrics["hr_at_k"]
        assert (rec.context, rec.decay) == ((None, ctx["context_decay"]) if wins else (1, 1.0))
        if not wins:
            continue
        k = int(grid.loc[entry, "k"])
        sugg = np.array([rec.suggest(c[c >= 0].tolist(), n=k)["index"].to_numpy() for c in contexts])
        scores = hr_ndcg(sugg, val["query"].to_numpy(), val["target"].to_numpy(), same_song=metrics["same_song"])
        assert (scores["hr_at_k"], scores["ndcg_at_k"]) == (ctx["hr_at_k"], ctx["ndcg_at_k"])
        checked += 1
    assert checked >= 2


@pytest.mark.workflow
def test_command_line_on_the_tiny_run(tiny_run, tmp_path):
    exe = [sys.executable, "-m", "track2vec.cli"]

    def run(*args, check=True):
        proc = subprocess.run([*exe, *args, "--results", str(tiny_run)], capture_output=True, text=True, cwd=tmp_path)
        assert not check or proc.returncode == 0, proc.stderr
        return proc

    out = run("find", "hôly PLANET").stdout.splitlines()
    assert out[0].split("\t") == ["index", "track_id", "title", "artist", "match"]
    assert out[1].split("\t")[2:] == ["Holy Planet", "The Endless Comets", "exact"]
    proc = run("find", "no such title at all", check=False)
    assert proc.returncode == 1 and "no song title matches" in proc.stderr
    data = json.loads(run("suggest", "Holy Planet", "Train of Sky", "-n", "5", "--json").stdout)
    best = json.loads((tiny_run / "best.json").read_text())["entry"]
    assert data["entry"] == best and len(data["suggestions"]) == 5
    assert not {d["index"] for d in data["suggestions"]} & set(data["playlist"])
    table = run("suggest", "Holy Planet", "--entry", "window_1").stdout.splitlines()
    assert len(table) == 11 and table[0].split("\t")[-2:] == ["score", "similarity"]
    # the score ranks (the similarity plus the popularity prior), the similarity beside it
    ranked = [float(line.split("\t")[-2]) for line in table[1:]]
    assert ranked == sorted(ranked, reverse=True)
    table = run("suggest", "Holy Planet", "--entry", "cooccurrence").stdout.splitlines()
    assert table[0].split("\t")[-1] == "cooccurrence" and float(table[1].split("\t")[-1]) > 0
    proc = run("suggest", "Holy Planet", "--entry", "nope", check=False)
    assert proc.returncode == 1 and "window_1" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("radio", "Holy Planet", "--nb-steps", "6", "--seed", "1", "--out", "r")
    assert "Holy Planet" in proc.stdout
    for ext in ("m3u8", "json", "html"):
        assert (tmp_path / "r" / f"holy-planet.{ext}").stat().st_size > 0
    walk = json.loads((tmp_path / "r" / "holy-planet.json").read_text())
    assert len(walk["tracks"]) == 7 and walk["entry"] == best
    skipped = [t for t in walk["tracks"] if not t["played"]]
    assert proc.stdout.count("[skipped: no preview]") == len(skipped)


@pytest.mark.workflow
def test_radio_rule_outputs(tiny_run):
    for slug, title in (("holy-planet", "Holy Planet"), ("train-of-sky", "Train of Sky")):
        walk = json.loads((tiny_run / "radio" / f"{slug}.json").read_text())
        assert walk["tracks"][0]["title"] == title and walk["nb_steps"] == 8
        assert len({t["index"] for t in walk["tracks"]}) == len(walk["tracks"]) == 9
        m3u = (tiny_run / "radio" / f"{slug}.m3u8").read_text(encoding="utf-8")
        assert m3u.count("#EXTINF") == walk["n_played"]
        page = (tiny_run / "radio" / f"{slug}.html").read_text(encoding="utf-8")
        assert f"Radio: {title}" in page
        assert (tiny_run / "logs" / "radio" / f"{slug}.log").exists()
        assert (tiny_run / "benchmarks" / "radio" / f"{slug}.tsv").exists()


@pytest.mark.workflow
def test_radio_rule_with_an_unknown_seed_says_so(tiny_run, tmp_path):
    """A seed that matches nothing (the full dataset's titles on the tiny one) does not stop the run."""
    from track2vec.pipeline.radio import radio_step

    emb = {e: str(tiny_run / "embeddings" / f"{e}.npy") for e in ("seed_reference", "paper_music2", "window_1")}
    emb.update({e: str(tiny_run / "baselines" / f"{e}.npz") for e in ("popularity", "cooccurrence")})
    out = [tmp_path / f"x.{ext}" for ext in ("m3u8", "json", "html")]
    walk = radio_step(
        str(tiny_run / "best.json"),
        emb,
        str(tiny_run / "vocab.parquet"),
        None,
        "Leaving across the Shadow",
        5,
        3,
        0,
        "cosine",
        *map(str, out),
    )
    assert walk.tracks == [] and "no song matches" in walk.messages[0]
    assert "no song matches" in out[2].read_text() and json.loads(out[1].read_text())["n_played"] == 0
