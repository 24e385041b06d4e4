"""The resource model (track2vec/resources.py) and the search's memory bound (track2vec.knn)."""

import math
import re
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from track2vec import knn, resources
from track2vec.config import load_config
from track2vec.knn import nearest_neighbours, search_memory_bytes
from track2vec.synthetic import PRESETS

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = load_config(str(ROOT / "config.yaml"))["defaults"]

#: the full preset's sizes: songs in the vocabulary, MB of split/train.parquet, validation pairs
FULL_SONGS, FULL_TRAIN_MB, FULL_PAIRS = 125_565, 5.7, 10_000


def _embedding_mb(n_songs, dim):
    return n_songs * dim * 4 / 1e6


#: every estimate as a function of one size (MB, rows or playlists) and ``attempt``
ESTIMATES = {
    "synthetic_mem_mb": lambda x, a: resources.synthetic_mem_mb(int(x * 1000), a),
    "synthetic_runtime": lambda x, a: resources.synthetic_runtime(int(x * 1000), a),
    "io_mem_mb": resources.io_mem_mb,
    "io_runtime": resources.io_runtime,
    "train_mem_mb (sequences)": lambda x, a: resources.train_mem_mb(x, 10_000, 64, 3, a),
    "train_mem_mb (songs)": lambda x, a: resources.train_mem_mb(1.0, int(x * 1000), 64, 3, a),
    "train_runtime": lambda x, a: resources.train_runtime(x, 3, 5, 64, 5, 256, 20, a),
    "evaluate_mem_mb (songs)": lambda x, a: resources.evaluate_mem_mb(
        _embedding_mb(int(x * 1000), 64), int(x * 1000), 64, 1.0, 5000, a
    ),
    "evaluate_mem_mb (pairs)": lambda x, a: resources.evaluate_mem_mb(10.0, 40_000, 64, 1.0, int(x * 100), a),
    "evaluate_mem_mb (baseline)": lambda x, a: resources.evaluate_mem_mb(x, 40_000, None, 1.0, 5000, a),
    "evaluate_runtime": resources.evaluate_runtime,
    "radio_mem_mb (catalog)": lambda x, a: resources.radio_mem_mb(10.0, 40_000, 64, 1.0, x, a),
    "ensemble_mem_mb": resources.ensemble_mem_mb,
    "report_mem_mb": lambda x, a: resources.report_mem_mb(x, x / 10, a),
}

SIZES = [0.0, 0.5, 3.0, 20.0, 150.0, 1000.0]


@pytest.mark.parametrize("name", ESTIMATES)
def test_estimates_grow_with_the_sizes(name):
    values = [ESTIMATES[name](x, 1) for x in SIZES]
    assert all(isinstance(v, int) and v > 0 for v in values)
    assert values == sorted(values), values
    assert values[-1] > values[0], values


@pytest.mark.parametrize("name", ESTIMATES)
@pytest.mark.parametrize("attempt", [2, 3])
def test_a_retry_asks_attempt_times_as_much(name, attempt):
    for x in SIZES:
        first = ESTIMATES[name](x, 1)
        # each is rounded up once: attempt * (first - 1) < retry <= attempt * first
        assert attempt * (first - 1) < ESTIMATES[name](x, attempt) <= attempt * first


@pytest.mark.parametrize("fn", [resources.small_mem_mb, resources.small_runtime, resources.report_runtime])
def test_fixed_estimates_scale_with_attempt(fn):
    assert fn(2) == 2 * fn(1) and fn(3) == 3 * fn(1) and fn(1) > 0


def test_preset_sizes_are_the_synthetic_presets():
    assert set(PRESETS) >= {"full", "tiny"}
    for name, preset in PRESETS.items():
        assert resources.preset_playlists(name) == preset.n_playlists
        assert resources.preset_playlists(name, 1234) == 1234
        assert resources.synthetic_mem_mb(resources.preset_playlists(name)) == math.ceil(
            resources.PYTHON_MB + resources.SYNTHETIC_MB_PER_PLAYLIST * preset.n_playlists
        )
    with pytest.raises(KeyError):
        resources.preset_playlists("no such preset")


def _base_estimate(train_mb, window, epochs):
    """The training runtime at TRAIN_PAIRS_PER_SECOND, without rounding (minutes)."""
    pairs = resources.PAIRS_PER_MB * train_mb * window * epochs
    return resources.MIN_MINUTES + resources.TRAIN_RUNTIME_MARGIN * pairs / resources.TRAIN_PAIRS_PER_SECOND / 60


def test_training_runtime_at_the_defaults_is_the_base_rate():
    d, n, w, e = DEFAULTS["dim"], DEFAULTS["negatives"], DEFAULTS["window"], DEFAULTS["epochs"]
    at_defaults = resources.train_runtime(FULL_TRAIN_MB, w, e, d, n, d, n)
    assert at_defaults == math.ceil(_base_estimate(FULL_TRAIN_MB, w, e))
    # cheaper pairs train no faster than the rate at the defaults
    assert resources.train_runtime(FULL_TRAIN_MB, w, e, d // 4, 1, d, n) == at_defaults
    # dearer ones take longer in proportion to dim x (negatives + 1)
    variable = _base_estimate(FULL_TRAIN_MB, w, e) - resources.MIN_MINUTES
    for dim, negatives in [(2 * d, n), (d, 2 * n + 1), (3 * d, 4 * n + 3)]:
        factor = dim * (negatives + 1) / (d * (n + 1))
        got = resources.train_runtime(FULL_TRAIN_MB, w, e, dim, negatives, d, n)
        assert got == math.ceil(resources.MIN_MINUTES + factor * variable)
        assert got - resources.MIN_MINUTES > 0.99 * factor * (at_defaults - 1 - resources.MIN_MINUTES)
    # and in proportion to the data, the window and the epochs
    assert resources.train_runtime(2 * FULL_TRAIN_MB, w, e, d, n, d, n) == math.ceil(
        _base_estimate(2 * FULL_TRAIN_MB, w, e)
    )


def test_training_runtime_follows_the_reference_it_is_given():
    # the same run measured against a cheaper reference is slower
    assert resources.train_runtime(6.0, 3, 10, 256, 20, 256, 20) < resources.train_runtime(6.0, 3, 10, 256, 20, 64, 5)


#: peaks measured on the full preset (benchmarks/*.tsv max_rss, MB), the largest of the runs:
#: training at the defaults (1.38-1.71 GB), evaluate (535-572 MB at dim 256; 1.22 GB at dim 768,
#: the shape of a three-model ensemble), test, radio
FULL_PEAKS = {"train": 1711, "evaluate_256": 572, "evaluate_768": 1218, "test": 576, "radio": 719}
#: the most a job of the full preset may ask for: 16 GB, a common cluster node's share
SANE_MB = 16_000


@pytest.mark.parametrize("train_mb", [FULL_TRAIN_MB, 30.0])
def test_full_preset_memory_is_sane(train_mb):
    V, d = FULL_SONGS, DEFAULTS["dim"]
    train = resources.train_mem_mb(train_mb, V, d, DEFAULTS["window"])
    assert FULL_PEAKS["train"] < train < SANE_MB
    for dim, peak in [(256, FULL_PEAKS["evaluate_256"]), (768, FULL_PEAKS["evaluate_768"])]:
        ev = resources.evaluate_mem_mb(_embedding_mb(V, dim), V, dim, train_mb, FULL_PAIRS)
        assert peak < ev < SANE_MB, (dim, ev)
    radio = resources.radio_mem_mb(_embedding_mb(V, 768), V, 768, train_mb, 27.0)
    assert FULL_PEAKS["radio"] < radio < SANE_MB
    # a radio searches one query at a time, without an index: less than an evaluation's search
    assert resources.search_mb(V, 768, 1) < resources.search_mb(V, 768, FULL_PAIRS)
    cooccurrence = resources.evaluate_mem_mb(60.0, V, None, train_mb, FULL_PAIRS)
    assert resources.PYTHON_MB < cooccurrence < SANE_MB
    assert resources.ensemble_mem_mb(3 * _embedding_mb(V, 256)) < SANE_MB
    assert resources.report_mem_mb(_embedding_mb(V, 768), 2.6) < SANE_MB


def test_every_rule_declares_threads_memory_and_runtime():
    for path in sorted((ROOT / "rules").glob("*.smk")):
        text = path.read_text()
        for name, body in re.findall(r"^rule (\w+):\n((?:(?:    .*)?\n)*)", text, re.M):
            for key in ("threads:", "mem_mb=", "runtime="):
                assert key in body, f"{path.name}: rule {name} declares no {key.rstrip(':=')}"


# --- the search's memory bound -------------------------------------------------------


@pytest.fixture(autouse=True)
def _two_threads(monkeypatch):
    """The same thread count on every machine (the search and its bound both read it)."""
    monkeypatch.setattr(knn, "_THREADS", 2)


def _traced_peak(emb, queries, **kw):
    """Peak of the memory numpy and Python allocate during one search (bytes)."""
    import faiss  # noqa: F401  (imported before tracing: loading the module is not the search)

    tracemalloc.start()
    try:
        nearest_neighbours(emb, queries, **kw)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _vectors(kind, V, dim, rng):
    if kind == "random":
        return rng.standard_normal((V, dim)).astype(np.float32)
    if kind == "clustered":  # 50 tight clusters
        centres = rng.standard_normal((50, dim)).astype(np.float32)
        return centres[rng.integers(0, 50, V)] + np.float32(0.01) * rng.standard_normal((V, dim), dtype=np.float32)
    return np.ones((V, dim), dtype=np.float32)  # "tied": every score ties, the search's worst case


@pytest.mark.parametrize(
    "kind, V, dim, n, metric, most",
    [
        # tied vectors: every query re-scored against every song, one at a time
        ("tied", 1500, 8, 1400, "cosine", 3),
        ("tied", 3000, 16, 1000, "euclidean", 3),
        # a few queries are scored against every song, without tiles
        ("random", 20_000, 64, 5, "cosine", 2),
        ("random", 20_000, 768, 600, "cosine", 10),
        # untied vectors: faiss's candidates re-scored in float64
        ("random", 20_000, 64, 3000, "cosine", 30),
        ("clustered", 20_000, 64, 3000, "euclidean", 30),
    ],
)
def test_search_memory_bound_holds_and_is_near(kind, V, dim, n, metric, most):
    rng = np.random.default_rng(0)
    emb = _vectors(kind, V, dim, rng)
    queries = rng.choice(V, n, replace=False)
    peak = _traced_peak(emb, queries, metric=metric)
    bound = knn._numpy_bytes(V, dim, n)  # what tracemalloc sees; faiss's own part is checked below
    print(f"{kind} V={V} dim={dim} n={n}: peak {peak / 1e6:.1f} MB, bound {bound / 1e6:.1f} MB")
    assert peak < bound < most * peak, (peak, bound)


def test_search_memory_bound_with_exclusions_and_a_prior():
    rng = np.random.default_rng(1)
    emb = _vectors("tied", 2000, 8, rng)
    queries = rng.choice(2000, 600)
    exclude = rng.integers(-1, 2000, (600, 40))
    # a constant prior keeps every score tied
    peak = _traced_peak(emb, queries, exclude=exclude, prior=np.full(2000, 0.1))
    bound = knn._numpy_bytes(2000, 8, 600, n_excluded=40)
    print(f"tied, 40 excluded, prior: peak {peak / 1e6:.1f} MB, bound {bound / 1e6:.1f} MB")
    assert peak < bound < 3 * peak, (peak, bound)


def test_search_memory_bound_grows_with_the_search():
    base = search_memory_bytes(50_000, 64, 5000)
    assert search_memory_bytes(100_000, 64, 5000) > base
    assert search_memory_bytes(50_000, 128, 5000) > base
    assert search_memory_bytes(50_000, 64, 20_000) > base
    assert search_memory_bytes(50_000, 64, 5000, n_excluded=20) > base
    assert search_memory_bytes(50_000, 64, 3) < search_memory_bytes(50_000, 64, 300)
    assert search_memory_bytes(50_000, 64) == search_memory_bytes(50_000, 64, knn._BLOCK)
    # faiss's part, which tracemalloc does not see: the float32 index [e, bias] and its scoring buffer
    faiss_part = search_memory_bytes(50_000, 64, 5000) - knn._numpy_bytes(50_000, 64, 5000)
    assert faiss_part == 4 * 50_000 * 65 + 4 * knn._FAISS_BLOCK_FLOATS
    assert search_memory_bytes(50_000, 64, 3) == knn._numpy_bytes(50_000, 64, 3)  # no index for a few queries
