"""Tests of track2vec.train (SGNS in TensorFlow): validation, determinism, learning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from conftest import SHARED_ECOMMERCE  # noqa: E402
from track2vec.train import TrainParams, TrainResult, keep_probabilities, make_pairs, train  # noqa: E402

HISTORY_KEYS = {"epoch", "loss", "positive_pairs", "seconds", "pairs_per_second", "learning_rate"}
CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"
# The untied word2vec settings most tests here were written for (TrainParams' defaults before
# they followed config.yaml): small, fast models whose expected behaviour the tests pin down.
WORD2VEC = {
    "dim": 50,
    "negatives": 5,
    "ns_exponent": 0.75,
    "subsample": 1e-5,
    "epochs": 5,
    "tied": False,
    "artist_vectors": False,
}


def _w2v(**overrides) -> TrainParams:
    """TrainParams with the WORD2VEC settings, then ``overrides``."""
    return TrainParams(**{**WORD2VEC, **overrides})


def _genre_corpus(n_genres: int = 50, per_genre: int = 20, n_playlists: int = 1500, length: int = 12, seed: int = 0):
    """Playlists drawn within one genre; song g*per_genre + j belongs to genre g.

    Returns offsets, values (reindexed by descending count), counts, genre of each index.
    """
    rng = np.random.default_rng(seed)
    genres = rng.integers(0, n_genres, n_playlists)
    starts = rng.integers(0, per_genre, n_playlists)
    # sequential neighbours inside the genre (wrapping), with a random step of 1 or 2
    steps = rng.integers(1, 3, (n_playlists, length)).cumsum(axis=1)
    songs = genres[:, None] * per_genre + (starts[:, None] + steps) % per_genre
    raw = songs.ravel()
    V = n_genres * per_genre
    cnt = np.bincount(raw, minlength=V)
    order = np.argsort(-cnt, kind="stable")
    remap = np.empty(V, np.int64)
    remap[order] = np.arange(V)
    values = remap[raw].astype(np.int32)
    offsets = np.arange(0, n_playlists * length + 1, length, dtype=np.int64)
    counts = np.bincount(values, minlength=V).astype(np.int64)
    genre_of = order // per_genre
    return offsets, values, counts, genre_of


def _neighbour_purity(emb: np.ndarray, genre_of: np.ndarray, k: int = 5) -> float:
    e = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    sim = e @ e.T
    np.fill_diagonal(sim, -np.inf)
    nn = np.argsort(-sim, axis=1)[:, :k]
    return float((genre_of[nn] == genre_of[:, None]).mean())


@pytest.fixture(scope="module")
def corpus():
    return _genre_corpus()


@pytest.fixture(scope="module")
def small():
    return _genre_corpus(n_genres=10, per_genre=10, n_playlists=200, length=8, seed=3)


# ---------------------------------------------------------------- defaults


def test_defaults_are_config_yaml_defaults():
    import dataclasses

    import yaml

    defaults = yaml.safe_load(CONFIG.read_text())["defaults"]
    compared = 0
    for f in dataclasses.fields(TrainParams):
        if f.name not in defaults:  # not a config key (reduced_window)
            continue
        assert f.default == defaults[f.name] and type(f.default) is type(defaults[f.name]), (f.name, f.default)
        compared += 1
    assert compared >= 10, compared


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "field, value",
    [
        ("dim", 0),
        ("window", 0),
        ("negatives", 0),
        ("epochs", 0),
        ("batch_size", 0),
        ("learning_rate", 0.0),
        ("learning_rate", -0.1),
        ("subsample", -1e-5),
        ("dim", 2.5),
        ("learning_rate", float("nan")),
        ("min_learning_rate", -1.0),
    ],
)
def test_invalid_params_name_the_parameter(small, field, value):
    offsets, values, counts, _ = small
    with pytest.raises(ValueError, match=field):
        train(offsets, values, counts, TrainParams(**{field: value}))


def test_empty_corpus_rejected():
    with pytest.raises(ValueError, match="empty"):
        train(np.array([0], np.int64), np.array([], np.int32), np.array([1], np.int64), TrainParams())
    with pytest.raises(ValueError, match="V"):
        train(np.array([0, 0], np.int64), np.array([], np.int32), np.array([], np.int64), TrainParams())


def test_out_of_range_values_rejected(small):
    offsets, values, counts, _ = small
    bad = values.copy()
    bad[0] = len(counts)
    with pytest.raises(ValueError, match="values"):
        train(offsets, bad, counts, TrainParams(epochs=1))


def test_threads_validated(small):
    offsets, values, counts, _ = small
    with pytest.raises(ValueError, match="threads"):
        train(offsets, values, counts, TrainParams(epochs=1), threads=0)


# ---------------------------------------------------------------- pairs


def test_make_pairs_counts_and_boundaries():
    offsets = np.array([0, 3, 3, 5], np.int64)  # playlists [0,1,2], [], [3,4]
    values = np.array([0, 1, 2, 3, 4], np.int32)
    pairs = make_pairs(offsets, values, window=2, shuffle=False)
    got = {tuple(p) for p in pairs.tolist()}
    want = {(0, 1), (1, 0), (1, 2), (2, 1), (0, 2), (2, 0), (3, 4), (4, 3)}
    assert got == want and len(pairs) == len(want)


def test_make_pairs_reduced_window():
    rng = np.random.default_rng(0)
    offsets = np.arange(0, 20 * 500 + 1, 20, dtype=np.int64)
    values = rng.integers(0, 1000, 20 * 500).astype(np.int32)
    full = make_pairs(offsets, values, window=3, shuffle=False)
    red = make_pairs(offsets, values, window=3, rng=np.random.default_rng(1), shuffle=False, reduced_window=True)
    # every reduced pair is a full-window pair; distance d is kept with probability (3 - d + 1) / 3
    assert {tuple(p) for p in red.tolist()} <= {tuple(p) for p in full.tolist()}
    assert len(red) / len(full) == pytest.approx(2 / 3, rel=0.03)
    # window 1 is unaffected
    one = make_pairs(offsets, values, window=1, rng=np.random.default_rng(1), shuffle=False, reduced_window=True)
    assert len(one) == len(make_pairs(offsets, values, window=1, shuffle=False))


def test_make_pairs_shuffle_is_a_seeded_permutation_of_the_rows():
    # the in-place int64 shuffle keeps each (centre, context) row intact and gives the
    # order of pairs[rng.permutation(n)] for the same generator state
    rng = np.random.default_rng(0)
    offsets = np.arange(0, 10 * 300 + 1, 10, dtype=np.int64)
    values = rng.integers(0, 500, 10 * 300).astype(np.int32)
    plain = make_pairs(offsets, values, window=3, shuffle=False)
    shuffled = make_pairs(offsets, values, window=3, rng=np.random.default_rng(7))
    assert shuffled.dtype == np.int32 and shuffled.shape == plain.shape
    np.testing.assert_array_equal(shuffled, plain[np.random.default_rng(7).permutation(len(plain))])
    assert not np.array_equal(shuffled, plain)


@pytest.mark.parametrize(
    "n_steps, target, workers", [(1525, 64, 2), (1536, 512, 2), (5, 64, 2), (1, 64, 4), (100, 64, 1), (7, 2, 3)]
)
def test_chunks_cover_the_epoch_evenly_for_the_workers(n_steps, target, workers):
    from track2vec.train import _chunks

    n_calls, bounds = _chunks(n_steps, target, workers)
    sizes = np.diff(bounds)
    assert bounds[0] == 0 and bounds[-1] == n_steps and len(bounds) == n_calls + 1
    assert sizes.min() >= 1 and sizes.max() - sizes.min() <= 1  # equal chunks, none empty
    assert n_calls % workers == 0 or n_calls == n_steps  # every worker gets as many
    assert sizes.max() <= max(target, 1) or n_calls == 1


def test_keep_probabilities_formula():
    counts = np.array([1000, 10, 0])
    keep = keep_probabilities(counts, 1e-3)
    f = 1000 / 1010
    assert keep[0] == pytest.approx((np.sqrt(f / 1e-3) + 1) * 1e-3 / f)
    assert keep[2] == 1.0
    assert np.all(keep_probabilities(counts, 0) == 1.0)


# ---------------------------------------------------------------- outputs


def test_output_shape_dtype_history(small):
    offsets, values, counts, _ = small
    lines: list[str] = []
    params = _w2v(dim=8, epochs=2, batch_size=64, subsample=0)
    res = train(offsets, values, counts, params, progress=lines.append)
    assert isinstance(res, TrainResult)
    assert res.embeddings.shape == (len(counts), 8)
    assert res.embeddings.dtype == np.float32
    assert np.all(np.isfinite(res.embeddings))
    assert len(res.history) == 2
    for i, h in enumerate(res.history):
        assert set(h) >= HISTORY_KEYS
        assert h["epoch"] == i + 1
        assert h["positive_pairs"] > 0 and np.isfinite(h["loss"]) and h["loss"] > 0
    assert res.history[-1]["learning_rate"] == pytest.approx(params.min_learning_rate, rel=1e-3)
    assert res.seconds > 0
    assert 2 <= len(lines) <= 30 and any("epoch 2/2" in line for line in lines)


def test_deterministic_with_one_thread(small):
    offsets, values, counts, _ = small
    params = _w2v(dim=8, epochs=2, batch_size=32, subsample=1e-2, seed=7)
    a = train(offsets, values, counts, params, threads=1)
    b = train(offsets, values, counts, params, threads=1)
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    c = train(offsets, values, counts, _w2v(dim=8, epochs=2, batch_size=32, subsample=1e-2, seed=8), threads=1)
    assert not np.array_equal(a.embeddings, c.embeddings)


@pytest.mark.parametrize("ns_exponent", [-0.5, 0.0])
def test_negative_and_zero_ns_exponent(small, ns_exponent):
    offsets, values, counts, _ = small
    res = train(offsets, values, counts, _w2v(dim=8, epochs=1, batch_size=64, ns_exponent=ns_exponent))
    assert np.all(np.isfinite(res.embeddings))


def test_unused_songs_allowed(small):
    offsets, values, counts, _ = small
    counts = np.concatenate([counts, [0, 0]])  # two songs never played
    res = train(offsets, values, counts, _w2v(dim=8, epochs=1, batch_size=64))
    assert res.embeddings.shape == (len(counts), 8)
    assert np.all(np.isfinite(res.embeddings))


# ---------------------------------------------------------------- learning


@pytest.mark.parametrize("tied", [False, True])
def test_learns_planted_genres(corpus, tied):
    offsets, values, counts, genre_of = corpus
    params = _w2v(dim=24, epochs=8, batch_size=256, subsample=0, tied=tied, seed=3)
    res = train(offsets, values, counts, params)
    purity = _neighbour_purity(res.embeddings, genre_of)
    # chance is 19/999 ~ 0.02
    assert purity > 0.9, purity
    assert res.history[-1]["loss"] < res.history[0]["loss"]


@pytest.mark.skipif(not SHARED_ECOMMERCE.exists(), reason="../shared/data/ecommerce_sessions.npy is absent")
def test_runs_on_ecommerce_sample():
    sessions = np.load(SHARED_ECOMMERCE, allow_pickle=True)[:300]
    items = [np.asarray(s[::2]) for s in sessions]
    vocab, inverse = np.unique(np.concatenate(items), return_inverse=True)
    counts = np.bincount(inverse, minlength=len(vocab)).astype(np.int64)
    values = inverse.astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in items])]).astype(np.int64)
    res = train(offsets, values, counts, _w2v(dim=16, epochs=1))
    assert res.embeddings.shape == (len(vocab), 16)
    assert np.all(np.isfinite(res.embeddings))


@pytest.mark.parametrize("tied", [False, True])
def test_odd_batch_size_uses_per_pair_negatives(small, tied):
    offsets, values, counts, _ = small
    res = train(offsets, values, counts, _w2v(dim=8, epochs=1, batch_size=13, tied=tied))
    assert np.all(np.isfinite(res.embeddings))
    assert res.history[0]["positive_pairs"] > 0


@pytest.mark.parametrize("shared, with_artists", [(0, False), (4, False), (4, True)])
def test_tied_closed_form_gradients_match_autodiff(shared, with_artists):
    """One tied step changes the table, a and b exactly as plain SGD on the autodiff gradient
    (with artist vectors: a song's vector is its row plus its artist's row)."""
    import tensorflow as tf

    from track2vec.train import _artist_rows, _build_step

    V, dim, K, B = 12, 5, 3, 8
    params = _w2v(dim=dim, negatives=K, batch_size=B, tied=True, artist_vectors=with_artists)
    cum = np.cumsum(np.full(V, 1.0 / V))
    artists = np.array([0, 0, 1, 1, 2, 2, -1, -1, 0, 1, 2, -1]) if with_artists else None
    step, run = _build_step(tf, params, cum, V, np.random.default_rng(0), shared=shared, artists=artists)
    table, scale, bias = step.table, step.scale, step.bias
    assert table.shape[0] == (V + 3 + 1 if with_artists else V)
    scale.assign(1.7)
    bias.assign(-0.3)
    rng = np.random.default_rng(1)
    c = rng.integers(0, V, (1, B)).astype(np.int32)
    o = rng.integers(0, V, (1, B)).astype(np.int32)
    w = np.ones((1, B), np.float32)
    w[0, -1] = 0.0  # a padding pair counts for nothing
    lr = np.array([0.1], np.float32)
    seed = tf.constant([3, 5], tf.int64)
    t0, a0, b0 = table.numpy().copy(), float(scale.numpy()), float(bias.numpy())
    run(c, o, w, lr, seed)
    # the same negatives: the step's stateless draw, recomputed
    n_neg = B // shared * K if shared else B * K
    u = tf.random.stateless_uniform([n_neg], seed=tf.stack([seed[0], seed[1] * 1_000_003]), dtype=tf.float64)
    neg = np.minimum(np.searchsorted(cum, u.numpy(), side="right"), V - 1)
    T = tf.Variable(t0)
    A = tf.Variable(a0)
    Bv = tf.Variable(b0)

    def vec(songs):
        x = tf.gather(T, songs)
        if with_artists:
            has = tf.constant((artists[songs] >= 0).astype(np.float32))[:, None]
            x = x + has * tf.gather(T, _artist_rows(artists, V)[songs])
        return x

    with tf.GradientTape() as tape:
        un = tf.math.l2_normalize(vec(c[0]), axis=1)
        vn = tf.math.l2_normalize(vec(o[0]), axis=1)
        nn = tf.math.l2_normalize(vec(neg), axis=1)
        z_pos = A * tf.reduce_sum(un * vn, axis=1) + Bv
        if shared:
            un3, nn3 = tf.reshape(un, [-1, shared, dim]), tf.reshape(nn, [-1, K, dim])
            z_neg = A * tf.matmul(un3, nn3, transpose_b=True) + Bv
            per_pair = tf.math.softplus(-z_pos) + tf.reshape(tf.reduce_sum(tf.math.softplus(z_neg), axis=2), [-1])
        else:
            z_neg = A * tf.einsum("bd,bkd->bk", un, tf.reshape(nn, [B, K, dim])) + Bv
            per_pair = tf.math.softplus(-z_pos) + tf.reduce_sum(tf.math.softplus(z_neg), axis=1)
        loss = tf.reduce_sum(w[0] * per_pair)
    gT, gA, gB = tape.gradient(loss, [T, A, Bv])
    np.testing.assert_allclose(table.numpy(), t0 - 0.1 * tf.convert_to_tensor(gT).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(scale.numpy()), a0 - 0.1 * float(gA) / w.sum(), rtol=1e-5)
    np.testing.assert_allclose(float(bias.numpy()), b0 - 0.1 * float(gB) / w.sum(), rtol=1e-5)
    assert not np.allclose(table.numpy(), t0)
    if with_artists:
        assert not np.allclose(table.numpy()[V : V + 3], t0[V : V + 3])  # the artists' rows learnt
        assert not table.numpy()[V + 3].any()  # the songs without one: zero row kept


def _without_songs(offsets, values, drop):
    """The corpus with every occurrence of the songs ``drop`` removed."""
    keep = ~np.isin(values, drop)
    lengths = np.add.reduceat(keep, offsets[:-1]) if len(values) else np.zeros(len(offsets) - 1, int)
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), values[keep]


@pytest.mark.parametrize("tied", [False, True])
def test_artist_vectors_place_unseen_songs_with_their_artist(small, tied):
    """A song that never occurs in training gets its artist's place with artist vectors
    (here the planted genre is the artist), and a random one without."""
    offsets, values, counts, genre_of = small
    unseen = np.array([np.flatnonzero(genre_of == g)[0] for g in range(10)])
    offsets, values = _without_songs(offsets, values, unseen)
    counts = np.bincount(values, minlength=len(counts)).astype(np.int64)
    assert not counts[unseen].any()
    purity = {}
    for use in (False, True):
        params = _w2v(dim=16, epochs=8, batch_size=64, subsample=0, tied=tied, seed=2, artist_vectors=use)
        res = train(offsets, values, counts, params, artists=genre_of if use else None)
        e = res.embeddings / np.linalg.norm(res.embeddings, axis=1, keepdims=True)
        sim = e[unseen] @ e.T
        sim[np.arange(len(unseen)), unseen] = -np.inf
        nn = np.argsort(-sim, axis=1)[:, :5]
        purity[use] = float((genre_of[nn] == genre_of[unseen][:, None]).mean())
    # chance is 9/99 ~ 0.09
    assert purity[True] > 0.8 and purity[False] < 0.4, purity


def test_artist_vectors_without_artists_change_nothing(small):
    offsets, values, counts, genre_of = small
    params = _w2v(dim=8, epochs=1, batch_size=64, tied=True)
    with_flag = _w2v(dim=8, epochs=1, batch_size=64, tied=True, artist_vectors=True)
    plain = train(offsets, values, counts, params, threads=1).embeddings
    ignored = train(offsets, values, counts, params, threads=1, artists=genre_of).embeddings  # flag off
    none_known = train(offsets, values, counts, with_flag, threads=1, artists=np.full(len(counts), -1)).embeddings
    none_given = train(offsets, values, counts, with_flag, threads=1, artists=None).embeddings
    np.testing.assert_array_equal(plain, ignored)
    np.testing.assert_array_equal(plain, none_known)
    np.testing.assert_array_equal(plain, none_given)


@pytest.mark.parametrize(
    "artists, match",
    [
        (np.zeros(3, np.int64), "one per song"),
        ("bad", "one per song"),
        ("low", ">= 0"),
    ],
)
def test_artist_vectors_validate_the_artists(small, artists, match):
    offsets, values, counts, _ = small
    if isinstance(artists, str):
        artists = np.full(len(counts), -2) if artists == "low" else np.zeros(len(counts), np.float64)
    with pytest.raises(ValueError, match=match):
        train(offsets, values, counts, _w2v(dim=8, epochs=1, artist_vectors=True), artists=artists)


def test_threads_run_hogwild_chunks_side_by_side_one_thread_per_op():
    # threads=2: two inter-op threads (the two Hogwild chunks run at once) and one
    # intra-op thread per op (the ops are too small to split). TF's settings are per
    # process: check in a fresh one.
    import subprocess
    import sys

    params = {**WORD2VEC, "dim": 4, "epochs": 1, "batch_size": 16}
    code = (
        "import numpy as np, tensorflow as tf\n"
        "from track2vec.train import TrainParams, train\n"
        "v = np.arange(40, dtype=np.int32) % 10\n"
        "o = np.arange(0, 41, 8, dtype=np.int64)\n"
        f"p = TrainParams(**{params!r})\n"
        "train(o, v, np.bincount(v, minlength=10), p, threads=2)\n"
        "threading = tf.config.threading\n"
        "print(threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.split()[-2:] == ["1", "2"]


def test_tensorflow_log_filter_keeps_errors_but_not_a_missing_gpu():
    """TensorFlow's CUDA build logs a machine without a GPU as an error: the filter drops that
    line (the job says where it trains), keeps every other error, and drops infos and warnings."""
    from track2vec.train import _below

    no_gpu = "E0000 00:00:1796410299.269355   10172 cuda_platform.cc:52] failed call to cuInit: INTERNAL: (303)"
    other = "E0000 00:00:1796410299.269355   10172 kernel.cc:12] something went wrong"
    info = "I0000 00:00:1796410299.269355   10172 cpu_feature_guard.cc:210] oneDNN custom operations are on"
    assert _below(no_gpu, 2) and _below(info, 2) and not _below(other, 2)
    assert not _below("12:00:00 train INFO epoch 1/1", 2)
