"""Tests of track2vec.scatter: the compiled scatter-add gives TensorFlow's bits, in the op and in
whole trainings, rejects bad input, and the trainer falls back to TensorFlow's where it cannot be
built."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from track2vec import scatter  # noqa: E402
from track2vec.train import TrainParams, train  # noqa: E402


@pytest.fixture(scope="module")
def op():
    """The compiled op (built into the user's cache on first use); the tests skip without a compiler."""
    found, how = scatter.compiled_op(tf)
    if found is None:
        pytest.skip(f"no compiled op: {how}")
    return found


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dim", [1, 7, 64])
def test_compiled_op_adds_as_tensorflow_does(op, index_dtype, dim):
    """The same bits as ``scatter_add``, repeated rows included (each added in order)."""
    rng = np.random.default_rng(dim)
    start = rng.standard_normal((50, dim)).astype(np.float32)
    rows = rng.integers(0, 50, 400).astype(index_dtype)  # every row many times
    updates = (rng.standard_normal((400, dim)) * 10.0 ** rng.integers(-6, 3, (400, 1))).astype(np.float32)
    ours, theirs = tf.Variable(start), tf.Variable(start)
    op(ours.handle, rows, updates)
    theirs.scatter_add(tf.IndexedSlices(updates, rows))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert not np.array_equal(ours.numpy(), start)


def test_compiled_op_rejects_bad_input_and_leaves_the_table(op):
    table = tf.Variable(np.zeros((3, 2), np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"indices\[1\] = 5 is outside the table's 3 rows"):
        op(table.handle, np.array([0, 5]), np.ones((2, 2), np.float32))
    assert not table.numpy().any()  # the valid row before the bad one was not written either
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"shape \[len\(indices\), 2\], got \[1,3\]"):
        op(table.handle, np.array([0]), np.ones((1, 3), np.float32))


def test_compiled_op_leaves_an_earlier_read_as_it_was(op):
    """A value read before the write keeps its numbers (the table's buffer is copied first)."""
    table = tf.Variable(np.zeros((3, 2), np.float32))
    before = table.read_value()
    op(table.handle, np.array([1]), np.ones((1, 2), np.float32))
    assert not before.numpy().any()
    np.testing.assert_array_equal(table.numpy()[1], [1.0, 1.0])


@pytest.mark.parametrize("tied", [False, True])
def test_training_is_the_same_with_either_scatter_add(op, monkeypatch, tied):
    """One thread, both models (the tied one with artist vectors): the same embeddings to the bit,
    and the log says which scatter-add wrote them."""
    rng = np.random.default_rng(0)
    V = 40
    lengths = rng.integers(3, 12, 60)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = rng.integers(0, V, offsets[-1]).astype(np.int32)
    counts = np.bincount(values, minlength=V).astype(np.int64)
    params = TrainParams(dim=8, negatives=3, epochs=2, batch_size=32, subsample=0, tied=tied, artist_vectors=tied)
    artists = rng.integers(-1, 6, V) if tied else None
    logs = {}

    def run(switch):
        monkeypatch.setenv(scatter.SWITCH_VARIABLE, switch)
        lines = []
        emb = train(offsets, values, counts, params, threads=1, artists=artists, progress=lines.append).embeddings
        logs[switch] = [line for line in lines if line.startswith("scatter-add:")]
        return emb

    np.testing.assert_array_equal(run("1"), run("0"))
    assert logs["1"][0].startswith("scatter-add: compiled (") and logs["1"][0].endswith(".so)")
    assert logs["0"] == [f"scatter-add: TensorFlow's ({scatter.SWITCH_VARIABLE}=0)"]


def test_build_writes_one_whole_library(tmp_path, monkeypatch):
    """A build in an empty cache leaves the library and no temporary file; a failing compiler
    leaves nothing, and the trainer's adder then says why it uses TensorFlow's scatter-add."""
    cxx = scatter._compiler()
    if cxx is None:
        pytest.skip("no C++ compiler")
    monkeypatch.setenv(scatter.CACHE_VARIABLE, str(tmp_path / "cache"))
    path = scatter._library_path(tf, cxx)
    assert path.parent == tmp_path / "cache"
    scatter._build(tf, cxx, path)
    assert [p.name for p in path.parent.iterdir()] == [path.name] and path.stat().st_size > 0
    assert path.stat().st_mode & 0o777 == 0o755  # readable and loadable as any build

    monkeypatch.setenv(scatter.CACHE_VARIABLE, str(tmp_path / "other"))
    monkeypatch.setenv("CXX", "false")  # a compiler that fails
    table = tf.Variable(np.zeros((2, 2), np.float32))
    add, how = scatter.adder(tf, table)
    assert how.startswith("TensorFlow's (the compiled op could not be built or loaded (false failed with exit status 1")
    assert not any((tmp_path / "other").iterdir())
    add(np.ones((2, 2), np.float32), np.array([1, 1]))
    np.testing.assert_array_equal(table.numpy(), [[0, 0], [2, 2]])


def test_the_library_is_named_by_what_builds_it(tmp_path, monkeypatch):
    """Another source text or compiler gets another library; the same ones the same, wherever the source is."""
    monkeypatch.setenv(scatter.CACHE_VARIABLE, str(tmp_path))
    first = scatter._library_path(tf, "c++")
    assert scatter._library_path(tf, "c++") == first
    assert scatter._library_path(tf, "clang++") != first
    copy = tmp_path / "copy" / "scatter.cc"  # the same source elsewhere (scripts/track2vec is a link)
    copy.parent.mkdir()
    copy.write_text(scatter.SOURCE.read_text())
    monkeypatch.setattr(scatter, "SOURCE", copy)
    assert scatter._library_path(tf, "c++") == first
    copy.write_text(scatter.SOURCE.read_text() + "\n// changed\n")
    assert scatter._library_path(tf, "c++") != first


def test_a_gpu_training_uses_tensorflows_scatter_add():
    _, how = scatter.adder(tf, tf.Variable(np.zeros((2, 2), np.float32)), device="/GPU:0")
    assert how == "TensorFlow's (training on a GPU)"
