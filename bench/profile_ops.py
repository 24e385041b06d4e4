"""Profile of the trainer's bottleneck: CPU ns per row of TF's scatter-add on the real pair
indices (100k built-in set), plain vs sorted vs deduplicated.  Needs bench/run.py's cache.
Run: .venv/bin/python bench/profile_ops.py"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
from pathlib import Path

import data
import numpy as np
import tensorflow as tf

from track2vec import train as T

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
d = data.load_prepared(Path("results/bench/cache/synthetic_100k_prepared.npz"))
counts = d["counts"].astype(float)
V = len(counts)
D = 50
pairs = T.make_pairs(d["offsets"], d["values"], 3, T.keep_probabilities(counts, 1e-5), np.random.default_rng(0))
table = tf.Variable(np.random.rand(2 * V, D).astype(np.float32))
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
        ("sorted", sorted_),
        ("dedup-sorted", dedup),
        ("unique+unsorted_segment_sum", uniq),
    ):

        @tf.function
        def loop():
            for i in tf.range(n):
                f(idx[i])
            return 0

        loop()
        c = time.process_time()
        loop()
        dc = time.process_time() - c
        print(
            f"B={B} {name}: {dc / n / B * 1e9:.1f} ns/row; unique share {len(np.unique(pairs[:B, 0])) / B:.2f}",
            flush=True,
        )
