"""Profile of the trainer's bottleneck: CPU ns per row of TF's scatter-add on the real pair
indices (100k built-in set), plain vs sorted vs deduplicated, and of the compiled scatter-add
(track2vec/scatter.py); then, against the scatter-add of the same distinct rows, a gather, an add
and a row copy (docs/training.md, "Tried and not kept"), and the share of the additions two
Hogwild workers lose with each.  Needs bench/run.py's cache.
Run: .venv/bin/python bench/profile_ops.py"""

import concurrent.futures
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
from pathlib import Path

import data
import numpy as np
import tensorflow as tf

from track2vec import scatter
from track2vec import train as T

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(2)  # ops run one after the other within a loop
d = data.load_prepared(Path("results/bench/cache/synthetic_100k_prepared.npz"))
counts = d["counts"].astype(float)
V = len(counts)
D = 50
pairs = T.make_pairs(d["offsets"], d["values"], 3, T.keep_probabilities(counts, 1e-5), np.random.default_rng(0))
table = tf.Variable(np.random.rand(2 * V, D).astype(np.float32))
compiled, how = scatter.compiled_op(tf)
print(f"compiled scatter-add: {how}", flush=True)

#: the writes compared, each ``write(t, rows, updates)``: TensorFlow's scatter-add, a gather, an
#: add and a row copy (distinct rows only), and the compiled scatter-add where it could be built
WRITES = {
    "scatter-add": lambda t, i, x: t.scatter_add(tf.IndexedSlices(x, i)),
    "gather + add + copy": lambda t, i, x: t.scatter_update(tf.IndexedSlices(tf.gather(t, i) + x, i)),
}
if compiled:
    WRITES["compiled scatter-add"] = lambda t, i, x: compiled(t.handle, i, x)


def ns_per_row(f, idx, n: int, B: int) -> float:
    """CPU ns per row of ``f`` applied to each of the ``n`` batches of ``B`` indices in ``idx``
    (traced and run once first)."""

    @tf.function
    def loop():
        for i in tf.range(n):
            f(idx[i])
        return 0

    loop()
    c = time.process_time()
    loop()
    return (time.process_time() - c) / n / B * 1e9


for B in (4096, 32768):
    n = 20
    idx = tf.constant(pairs[: n * B, 0].reshape(n, B))
    x = tf.constant(np.random.rand(B, D).astype(np.float32))

    def plain(i):
        table.scatter_add(tf.IndexedSlices(x, i))

    def sorted_(i):
        o = tf.argsort(i)
        table.scatter_add(tf.IndexedSlices(tf.gather(x, o), tf.gather(i, o)))

    def dedup(i):
        o = tf.argsort(i)
        si = tf.gather(i, o)
        new = tf.concat([[True], si[1:] != si[:-1]], 0)
        seg = tf.cumsum(tf.cast(new, tf.int32)) - 1
        summed = tf.math.segment_sum(tf.gather(x, o), seg)
        table.scatter_add(tf.IndexedSlices(summed, tf.boolean_mask(si, new)))

    def uniq(i):
        u, seg = tf.unique(i)
        table.scatter_add(tf.IndexedSlices(tf.math.unsorted_segment_sum(x, seg, tf.shape(u)[0]), u))

    for name, f in (
        ("plain", plain),
        *((("compiled", lambda i: WRITES["compiled scatter-add"](table, i, x)),) if compiled else ()),
        ("sorted", sorted_),
        ("dedup-sorted", dedup),
        ("unique+unsorted_segment_sum", uniq),
    ):
        print(
            f"B={B} {name}: {ns_per_row(f, idx, n, B):.1f} ns/row; unique share {len(np.unique(pairs[:B, 0])) / B:.2f}",
            flush=True,
        )

# The alternative docs/training.md lists under "Tried and not kept": a gather, an add and a row
# copy (ResourceScatterUpdate) of distinct rows, against the scatter-add of the same rows, in a
# table that fits the cache (3,685 songs x 2) and in the 100k set's (2 V rows); dim 50 and 256.
rng = np.random.default_rng(1)
for dim in (50, 256):
    for rows in (2 * 3685, 2 * V):
        t = tf.Variable(rng.random((rows, dim)).astype(np.float32))
        B, n = 1024, 100
        idx = tf.constant(np.stack([rng.choice(rows, B, replace=False) for _ in range(n)]).astype(np.int32))
        x = tf.constant(rng.random((B, dim)).astype(np.float32) * 1e-6)

        for name, write in WRITES.items():
            f = lambda i, t=t, x=x, write=write: write(t, i, x)  # noqa: E731
            print(f"distinct rows, {rows} x {dim}: {name} {ns_per_row(f, idx, n, B):.0f} ns/row", flush=True)

# Two Hogwild workers adding 1 to the same 64 rows 2,000 times each, with the scatter-add, with
# a gather, an add and a copy, and with the compiled scatter-add: the updates they lose.
for name, write in WRITES.items():
    t = tf.Variable(tf.zeros((64, D)))
    rows, ones = tf.range(64), tf.ones((64, D))

    @tf.function(autograph=False)
    def work(k, write=write, t=t, rows=rows, ones=ones):
        def body(i):
            write(t, rows, ones)
            return i + 1

        return tf.while_loop(lambda i: i < k, body, [tf.constant(0)])

    work(tf.constant(0))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: work(tf.constant(2000)), range(2)))
    print(f"two workers, {name}: {100 * (1 - float(tf.reduce_mean(t)) / 4000):.0f}% of the additions lost", flush=True)
