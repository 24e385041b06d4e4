"""Skip-gram with negative sampling (SGNS) in TensorFlow, tuned for CPUs.

Two models share one training loop:

* ``tied=False`` (default) is word2vec's skip-gram with negative sampling: an
  *input* matrix ``W_in`` (initialised ``uniform(-1/dim, 1/dim)`` as gensim 4;
  word2vec.c's half-width start measured 0.05 HR@10 worse after 5 epochs at
  subsample 1e-5 on the built-in data) and an
  *output* matrix ``W_out`` (initialised to zeros), ``logit = u . v`` and the loss
  ``-log s(u . v_pos) - sum_k log s(-u . v_neg_k)``.  The embeddings returned are
  the input vectors, like gensim's ``wv``.
* ``tied=True`` is the seed project's Keras "Track2Vec" model: ONE shared
  embedding for both songs, their cosine similarity, then ``Dense(1, sigmoid)``
  (``logit = a * cos + b``), trained with binary cross-entropy against label 1 for
  the positive pair and 0 for each negative.

Artist vectors
    ``artist_vectors=True`` (with ``artists``, the artist of each song) gives
    every artist a vector of its own, and a song's vector becomes its own
    row plus its artist's row, in every gather (the centre and context songs
    and the negatives of the tied model; the centre song of the untied one).
    The gradient of the sum goes to both rows, so an artist's row learns from
    all its songs, as fastText's subword vectors learn from all the words that
    hold them.  A rare song then starts from its artist's place instead of
    from noise, and a song that never occurs in training still gets its
    artist's vector.  Songs without an artist (``-1``) keep their own row only.
    The returned embeddings are the sums.  Three more scatter-adds per batch:
    about 1.4x the training time (built-in data, tied, dim 256).

Design
------
Pairs
    Each epoch, the tokens are down-sampled (word2vec/gensim rule: keep a token
    with probability ``min(1, (sqrt(f/t) + 1) * t / f)``, ``f = count/total``),
    then every two kept tokens of the same playlist at distance ``1..window``
    give two positive pairs (both directions).  This is done with numpy over the
    whole CSR corpus at once (one vectorised pass per distance, no Python loop
    over playlists), then the pairs are shuffled.  The pairs of epoch ``e + 1``
    are built in a background thread while epoch ``e`` trains (numpy releases
    the GIL for the heavy parts).  As word2vec and gensim, the window is
    shrunk at random per centre by default (``reduced_window``): each kept
    token draws ``b`` uniformly from ``1..window`` and pairs with the songs at
    distance ``<= b``, so an epoch holds the same number of pairs as gensim's
    (2/3 of the full window's for ``window=3``): "equal epochs" means equal
    work.  ``reduced_window=False`` uses every distance ``1..window``.
Negatives
    ``negatives`` per positive pair, drawn inside the TensorFlow graph by
    inverse-CDF sampling: a stateless uniform draw is looked up with
    ``tf.searchsorted`` in the cumulative table of ``counts ** ns_exponent``
    (normalised; float64 so that rare songs keep their share, which matters for
    negative exponents).  Songs with count 0 are never drawn.  Negatives are
    not re-drawn when they hit the positive context (as word2vec).
    For speed, each group of ``_SHARED_NEGATIVES`` (16) consecutive pairs of
    a batch (the pairs are shuffled, so the group is a random one) shares its
    ``negatives`` draws: every pair still meets exactly ``negatives``
    negatives with weight 1, so the loss and the expected gradient are those
    of word2vec, but the logits of a group are one small matrix product and a
    batch gathers/scatters 16x fewer negative rows (the per-row TF ops are
    the cost on CPU).  Measured: ~3-4x faster than per-pair draws, same
    neighbour quality within noise on the planted-genre corpus (0.526 vs 0.540
    at subsample 1e-5, both 0.998 at 1e-3).  A batch whose size is not a
    multiple of 16 uses the largest divisor of ``batch_size`` not above 16
    (1 = per-pair draws).
Optimizer
    Plain SGD with word2vec's learning rate, decaying linearly from
    ``learning_rate`` to ``min_learning_rate`` over all steps of all epochs.
    Each pair's gradient is applied at the full rate (as word2vec, which
    updates per pair, not per batch mean): the closed-form gradients of a batch
    are scatter-added into ``tf.Variable`` s in one ``tf.function`` that loops
    over many batches per call (few Python round trips).  Rows hit several times
    in one batch receive the sum of their gradients, which is why very large
    batches (tens of thousands of pairs) can diverge at ``lr = 0.025``.
Tied model
    Same loop; the gradients of the cosine/Dense/BCE loss are written out in
    closed form (through the normalisation ``x / |x|``) and scatter-added, which
    measured faster than a ``tf.GradientTape`` over the gathered rows.  The
    embedding is initialised ``uniform(-0.05, 0.05)`` (Keras' default), ``a``
    starts at 1 and ``b`` at 0; the embedding rows get the per-pair (summed)
    gradient like the untied model, while ``a`` and ``b`` (shared by every pair)
    get the batch-mean gradient, as Keras would apply.  Plain SGD is enough:
    on the planted-genre benchmark it reaches neighbour purity 0.98 (subsample
    1e-3) and 0.97 (1e-5), so Adam is not needed.
Determinism
    All randomness comes from ``seed``: a numpy ``Generator`` for subsampling,
    pair shuffling and initialisation, and stateless TF random ops (seeded by
    ``seed``, epoch and call) for negatives.  With ``threads=1`` the result is
    bit-for-bit reproducible.  With ``threads > 1`` training is Hogwild:
    ``threads`` Python threads run consecutive chunks of about 64 batches
    concurrently (TF releases the GIL) on the same table, without locks, as
    word2vec's and gensim's worker threads do; an epoch is cut into a
    multiple of ``threads`` chunks of equal size, so no worker idles at its end.  The pairs, negatives and
    learning rates do not change, but the order of concurrent updates does, so
    the embeddings differ from run to run (like gensim's with ``workers > 1``).
    Each TF op runs on one thread (intra-op threads: 1) and the runtime has
    ``threads`` inter-op threads, so the ``threads`` chunks really run side by
    side: the batch ops are too small for intra-op threads to help, and with
    intra-op threads = ``threads`` the two chunks of 2 cores measured 1.4x
    slower (e-commerce, dim 50: 4.6 s against 3.3 s for 5 epochs; built-in
    100k, tied dim 256: 21.3 s against 15.6 s per epoch).
    TensorFlow accepts thread settings only before its runtime starts: a later
    ``train`` call in the same process with another ``threads`` keeps the first
    setting silently.
Speed
    Profiled (bench/profile_ops.py): the cost is TF's per-row scatter-add,
    ~300-450 ns per 50-float row on a 250k-row table (cache misses plus the
    kernel's per-row overhead; sorted or de-duplicated indices and
    tensor_scatter_nd_add were no faster), then gather (~70-90 ns per row);
    batch size barely matters (per-op overhead is small next to that).  So the
    levers are fewer rows scattered per positive pair (shared negatives:
    2 + 5/16 rows) and more cores (Hogwild).  Plus, per process, ~3-5 s to
    import TensorFlow and ~0.5-1 s to start its runtime and trace the step
    (one trace: a fixed input signature, an explicit ``while_loop``, no
    AutoGraph).  The step is traced and optimised by a call of zero steps
    while the first epoch's pairs are built (the first epoch used to take
    1.6-1.8 s against 1.1-1.2 s for the others, e-commerce, one thread), and
    the pairs are shuffled in place as int64 rows (0.07 s for 1.5M pairs
    against 0.22 s for ``pairs[permutation]``, same order): the pair builder
    shares the cores with the trainers.  Together: 12% less CPU time for 5
    epochs on the e-commerce file (6.2-6.6 s against 7.1-8.0 s, one thread).
    Tried and not kept: XLA (``jit_compile``) on the whole step loop, 2.4x
    slower (the per-row scatters do not fuse), and on the arithmetic only
    (gathers and scatters outside), 1.1-1.2x slower; ``ResourceScatterNdAdd``,
    ~15% cheaper per row than ``ResourceScatterAdd`` on one thread, but it
    takes the variable's exclusive lock, so the Hogwild workers wait for each
    other (2 threads: 1.4-1.5 cores busy instead of 1.9, 25-35% slower);
    chunks of 128-1024 batches instead of 64, no faster.  bench/run.py
    measures it against gensim.
"""
from __future__ import annotations

import concurrent.futures
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

__all__ = ["TrainParams", "TrainResult", "train", "make_pairs", "keep_probabilities"]

# Batches per tf.function call: enough to hide Python overhead, small enough to
# report progress and keep the learning-rate schedule fine-grained.
_STEPS_PER_CALL = 64
# Negatives drawn per batch and shared by all its pairs (0: per-pair draws).
_SHARED_NEGATIVES = 16
# With threads > 1, train chunks concurrently in that many Python threads
# (Hogwild).  On: with the per-row scatter-add as the bottleneck, two
# threads (one TF thread per op) measured 1.25x one on 2 cores on the
# e-commerce file (3.3 s against 4.1 s for 5 epochs, dim 50).
_HOGWILD = True


@dataclass(frozen=True)
class TrainParams:
    """Hyper-parameters of :func:`train`.

    Attributes
    ----------
    dim : int
        Embedding size.
    window : int
        Largest distance between a centre and a context song of a pair.
    negatives : int
        Negative samples per positive pair.
    ns_exponent : float
        Negatives are drawn proportionally to ``count ** ns_exponent``; 0 is
        uniform, negative values favour rare songs.
    subsample : float
        Down-sampling threshold ``t`` (word2vec's ``sample``); 0 disables it.
    epochs : int
        Passes over the corpus.
    learning_rate, min_learning_rate : float
        SGD step size, decayed linearly from the first to the second over all
        training steps.
    batch_size : int
        Positive pairs per step.
    tied : bool
        False: word2vec (separate input/output embeddings); True: the seed's
        Track2Vec model (shared embedding, cosine, Dense(1, sigmoid)).
    seed : int
        Seed of every random draw.
    reduced_window : bool
        True (default, as word2vec and gensim): each kept token, as a centre,
        uses an effective window drawn uniformly from ``1..window`` per epoch,
        so nearer songs form pairs more often and an epoch trains the same
        number of pairs as gensim's (about ``(window + 1) / (2 * window)`` of
        the full window's, 2/3 for ``window=3``).  False: every distance
        ``1..window`` always forms a pair.
    artist_vectors : bool
        True: a song's vector is its own row plus its artist's row (see
        "Artist vectors" in the module docstring); needs the ``artists``
        argument of :func:`train`.
    """

    dim: int = 50
    window: int = 3
    negatives: int = 5
    ns_exponent: float = 0.75
    subsample: float = 1e-5
    epochs: int = 5
    learning_rate: float = 0.025
    min_learning_rate: float = 0.0001
    batch_size: int = 1024
    tied: bool = False
    seed: int = 1
    reduced_window: bool = True
    artist_vectors: bool = False

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid parameter."""
        for name in ("dim", "window", "negatives", "epochs", "batch_size", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        for name in ("dim", "window", "negatives", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("ns_exponent", "subsample", "learning_rate", "min_learning_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if self.min_learning_rate < 0:
            raise ValueError(f"min_learning_rate must be >= 0, got {self.min_learning_rate!r}")
        if self.min_learning_rate > self.learning_rate:
            raise ValueError(
                f"min_learning_rate ({self.min_learning_rate!r}) must not exceed learning_rate ({self.learning_rate!r})"
            )
        if self.subsample < 0:
            raise ValueError(f"subsample must be >= 0, got {self.subsample!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed!r}")
        for name in ("reduced_window", "artist_vectors"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be a boolean, got {getattr(self, name)!r}")


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    embeddings : numpy.ndarray
        float32 array of shape ``(V, dim)``; row ``i`` is song ``i`` (the input
        vectors for the untied model).
    history : list of dict
        One dict per epoch: ``epoch`` (1-based), ``loss`` (mean per positive
        pair, including its negatives), ``positive_pairs``, ``seconds``,
        ``pairs_per_second`` and ``learning_rate`` (at the end of the epoch).
    seconds : float
        Total wall-clock time of :func:`train`.
    params : dict
        The parameters used (``TrainParams`` as a dict) plus ``threads``.
    """

    embeddings: np.ndarray
    history: list[dict] = field(default_factory=list)
    context: np.ndarray | None = None
    logit_scale: float = 1.0
    logit_bias: float = 0.0
    seconds: float = 0.0
    params: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Corpus checks and pair generation (numpy)
# ---------------------------------------------------------------------------

def _check_corpus(offsets: np.ndarray, values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    offsets = np.asarray(offsets)
    values = np.asarray(values)
    counts = np.asarray(counts)
    if offsets.ndim != 1 or values.ndim != 1 or counts.ndim != 1:
        raise ValueError("offsets, values and counts must be one-dimensional arrays")
    if len(counts) == 0:
        raise ValueError("counts is empty: the vocabulary (V) must not be empty")
    if len(offsets) < 2 or len(values) == 0:
        raise ValueError("the corpus is empty: offsets/values hold no playlist with songs")
    if not np.issubdtype(values.dtype, np.integer) or not np.issubdtype(offsets.dtype, np.integer):
        raise ValueError("offsets and values must be integer arrays")
    if not np.issubdtype(counts.dtype, np.integer) and not np.issubdtype(counts.dtype, np.floating):
        raise ValueError("counts must be a numeric array")
    if offsets[0] != 0 or offsets[-1] != len(values) or np.any(np.diff(offsets) < 0):
        raise ValueError("offsets must start at 0, be non-decreasing and end at len(values)")
    if values.min() < 0 or values.max() >= len(counts):
        raise ValueError(f"values must lie in [0, V) with V = len(counts) = {len(counts)}")
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise ValueError("counts must be finite and >= 0")
    return offsets.astype(np.int64, copy=False), values.astype(np.int32, copy=False), counts.astype(np.float64)


def keep_probabilities(counts: np.ndarray, subsample: float) -> np.ndarray:
    """Probability of keeping each song's tokens (word2vec/gensim down-sampling).

    Parameters
    ----------
    counts : numpy.ndarray
        Occurrences of each song in the corpus.
    subsample : float
        Threshold ``t``; 0 keeps everything.

    Returns
    -------
    numpy.ndarray
        float64 array ``min(1, (sqrt(f/t) + 1) * t / f)`` with ``f = count/total``
        (1 where ``count == 0`` or ``subsample == 0``).
    """
    counts = np.asarray(counts, dtype=np.float64)
    keep = np.ones(len(counts))
    total = counts.sum()
    if subsample <= 0 or total <= 0:
        return keep
    f = counts / total
    nz = f > 0
    keep[nz] = np.minimum(1.0, (np.sqrt(f[nz] / subsample) + 1.0) * subsample / f[nz])
    return keep


def make_pairs(offsets: np.ndarray, values: np.ndarray, window: int, keep: np.ndarray | None = None,
               rng: np.random.Generator | None = None, shuffle: bool = True,
               reduced_window: bool = False) -> np.ndarray:
    """All (centre, context) pairs of one epoch, vectorised over the CSR corpus.

    Parameters
    ----------
    offsets, values : numpy.ndarray
        The corpus in CSR form (see :func:`train`).
    window : int
        Largest distance between the two songs of a pair.
    keep : numpy.ndarray, optional
        Per-song keep probability (see :func:`keep_probabilities`); tokens are
        dropped before pairing.  None keeps every token.
    rng : numpy.random.Generator, optional
        Source of the subsampling and shuffling draws (needed if ``keep`` is
        given or ``shuffle`` is true).
    shuffle : bool
        Shuffle the pairs.
    reduced_window : bool
        word2vec's reduced windows: every kept token draws an effective window
        ``b`` uniformly from ``1..window`` (needs ``rng``) and is the centre of
        the pairs with the songs at distance ``<= b`` only.

    Returns
    -------
    numpy.ndarray
        int32 array of shape ``(n_pairs, 2)``: column 0 the centre, column 1
        the context; both directions of every pair are present.
    """
    lengths = np.diff(offsets)
    # playlist id of every token; consecutive tokens share an id iff same playlist
    pid = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    vals = values
    if keep is not None:
        mask = rng.random(len(values), dtype=np.float32) < keep.astype(np.float32)[values]
        vals = values[mask]
        pid = pid[mask]
    n = len(vals)
    eff = None
    if reduced_window and window > 1:
        eff = rng.integers(1, window + 1, size=n, dtype=np.int8)
    chunks = []
    for d in range(1, window + 1):
        if d >= n:
            break
        same = pid[:-d] == pid[d:]
        if eff is None or d == 1:
            left = right = np.flatnonzero(same)
        else:
            # left token as centre needs eff[left] >= d; right token as centre eff[right] >= d
            left = np.flatnonzero(same & (eff[:-d] >= d))
            right = np.flatnonzero(same & (eff[d:] >= d))
        chunks.append(np.stack([vals[left], vals[left + d]], axis=1))
        chunks.append(np.stack([vals[right + d], vals[right]], axis=1))
    if not chunks:
        return np.zeros((0, 2), dtype=np.int32)
    pairs = np.concatenate(chunks).astype(np.int32, copy=False)
    if shuffle and len(pairs) > 1:
        # in place on an int64 view of the rows: the same order as pairs[rng.permutation(n)]
        # (the same draws), 3x faster (one pass, no index array, no 2-D fancy indexing)
        pairs = np.ascontiguousarray(pairs)
        rng.shuffle(pairs.view(np.int64).reshape(-1))
    return pairs


# ---------------------------------------------------------------------------
# TensorFlow part
# ---------------------------------------------------------------------------

def _import_tf(threads: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    # one thread per op, ``threads`` ops (the Hogwild chunks) at a time: see "Determinism"
    try:
        if tf.config.threading.get_intra_op_parallelism_threads() != 1:
            tf.config.threading.set_intra_op_parallelism_threads(1)
        if tf.config.threading.get_inter_op_parallelism_threads() != threads:
            tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        # The TF runtime was already initialised in this process (threads can be
        # set only once): keep the earlier setting.  Determinism for threads=1
        # then needs the first call of the process to have used threads=1.
        pass
    return tf


def _build_step(tf, params: TrainParams, cum: np.ndarray, V: int, rng: np.random.Generator,
                shared: int | None = None, artists: np.ndarray | None = None):
    """Variables and the multi-step training tf.function.

    ``shared``: number of negatives drawn per batch and shared by all its pairs
    (0 = ``negatives`` independent draws per pair).  ``artists``: each song's
    artist index (``-1``: none), or None for no artist vectors.  The table holds
    the songs' rows (the input then output rows when untied), then one row per
    artist, then a zero row that the songs without an artist point to (its
    updates are masked out).
    """
    if shared is None:
        shared = _SHARED_NEGATIVES
    if shared:
        shared = max(g for g in range(1, min(shared, params.batch_size) + 1) if params.batch_size % g == 0)
        if shared == 1:
            shared = 0
    dim, K = params.dim, params.negatives
    cum_t = tf.constant(cum, dtype=tf.float64)
    n_songs_rows = V if params.tied else 2 * V
    A = 0 if artists is None else int(artists.max()) + 1
    extra = A + 1 if artists is not None else 0
    half = 0.05 if params.tied else 1.0 / dim   # Keras' default; gensim 4's (word2vec.c: +-0.5/dim)
    init = np.zeros((n_songs_rows + extra, dim), np.float32)
    init[:V] = rng.uniform(-half, half, size=(V, dim))
    if artists is not None:
        init[n_songs_rows:n_songs_rows + A] = rng.uniform(-half, half, size=(A, dim))
        art_row = tf.constant(_artist_rows(artists, n_songs_rows))
        art_mask = tf.constant((artists >= 0).astype(np.float32))
    table = tf.Variable(init)
    if params.tied:
        scale = tf.Variable(tf.constant(1.0, tf.float32))
        bias = tf.Variable(tf.constant(0.0, tf.float32))
        out_off = 0
    else:
        # rows [0, V) are the input vectors, [V, 2V) the output ones (initialised to zeros)
        scale = bias = None
        out_off = V

    def with_artist(x, songs):
        """Song rows plus their artists' rows, and the artists' table rows."""
        rows = tf.gather(art_row, songs)
        return x + tf.gather(table, rows), rows

    def to_artist(delta, songs, rows):
        """Scatter a song-row update into the songs' artist rows too (none without an artist)."""
        table.scatter_add(tf.IndexedSlices(delta * tf.gather(art_mask, songs)[:, None], rows))

    def draw(seed, n):
        u = tf.random.stateless_uniform([n], seed=seed, dtype=tf.float64)
        idx = tf.searchsorted(cum_t, u, side="right", out_type=tf.int32)
        return tf.minimum(idx, V - 1)

    def untied_batch(c, o, w, lr, seed):
        # Closed-form SGNS step.  The learning rate and pair weight are folded
        # into the per-pair coefficients first (scalars), so each (B, dim)
        # tensor is touched as few times as possible; three gathers and three
        # scatter-adds avoid the concat/slice copies of one combined index.
        # All gathers read the table before any scatter writes it (automatic
        # control dependencies keep program order), as one combined update.
        B = tf.shape(c)[0]
        n_neg = B // shared * K if shared else B * K
        neg = draw(seed, n_neg) + out_off
        o = o + out_off
        u = tf.gather(table, c)
        if artists is not None:
            u, uc = with_artist(u, c)
        v = tf.gather(table, o)
        nv = tf.gather(table, neg)
        s_pos = tf.reduce_sum(u * v, axis=1)
        wl = w * lr
        a_pos = tf.sigmoid(-s_pos) * wl                                   # -lr * dL/ds_pos
        if shared:
            # groups of ``shared`` consecutive pairs share K negatives
            G = shared
            u3 = tf.reshape(u, [-1, G, dim])
            n3 = tf.reshape(nv, [-1, K, dim])
            s_neg = tf.matmul(u3, n3, transpose_b=True)               # (B/G, G, K)
            w3 = tf.reshape(w, [-1, G, 1])
            a_neg = tf.sigmoid(s_neg) * tf.reshape(-wl, [-1, G, 1])     # -lr * dL/ds_neg
            loss = tf.reduce_sum(w * tf.math.softplus(-s_pos)) + tf.reduce_sum(w3 * tf.math.softplus(s_neg))
            du = a_pos[:, None] * v + tf.reshape(tf.matmul(a_neg, n3), [-1, dim])
            dn = tf.reshape(tf.matmul(a_neg, u3, transpose_a=True), [-1, dim])   # (B/G*K, D)
        else:
            nv = tf.reshape(nv, [B, K, dim])
            s_neg = tf.einsum("bd,bkd->bk", u, nv)
            a_neg = tf.sigmoid(s_neg) * -wl[:, None]
            loss = tf.reduce_sum(w * (tf.math.softplus(-s_pos) + tf.reduce_sum(tf.math.softplus(s_neg), axis=1)))
            du = a_pos[:, None] * v + tf.einsum("bk,bkd->bd", a_neg, nv)
            dn = tf.reshape(a_neg[:, :, None] * u[:, None, :], [-1, dim])
        dv = a_pos[:, None] * u
        table.scatter_add(tf.IndexedSlices(du, c))
        table.scatter_add(tf.IndexedSlices(dv, o))
        table.scatter_add(tf.IndexedSlices(dn, neg))
        if artists is not None:
            to_artist(du, c, uc)
        return loss

    def tied_batch(c, o, w, lr, seed):
        # Closed-form gradients of the cosine/Dense/BCE loss (what a GradientTape
        # would compute, without its overhead): with x_hat = x / |x| and
        # z = a * cos + b, dL/dz is -s(-z) for the positive pair and s(z) for a
        # negative; dL/dx = (g - (g . x_hat) x_hat) / |x| for g = dL/dx_hat.
        B = tf.shape(c)[0]
        n_neg = B // shared * K if shared else B * K
        neg = draw(seed, n_neg)
        u, v, nv = tf.gather(table, c), tf.gather(table, o), tf.gather(table, neg)
        if artists is not None:
            (u, uc), (v, vc), (nv, nc) = with_artist(u, c), with_artist(v, o), with_artist(nv, neg)

        def unit(x):
            inv = tf.math.rsqrt(tf.maximum(tf.reduce_sum(x * x, axis=1, keepdims=True), 1e-12))
            return x * inv, inv

        def back(g, xh, inv):   # gradient through x_hat = x / |x|
            return (g - tf.reduce_sum(g * xh, axis=1, keepdims=True) * xh) * inv

        un, iu = unit(u)
        vn, iv = unit(v)
        nn, ineg = unit(nv)
        cos_pos = tf.reduce_sum(un * vn, axis=1)
        z_pos = scale * cos_pos + bias
        dz_pos = -tf.sigmoid(-z_pos) * w                                   # dL/dz_pos
        if shared:
            G = shared
            u3 = tf.reshape(un, [-1, G, dim])
            n3 = tf.reshape(nn, [-1, K, dim])
            cos_neg = tf.matmul(u3, n3, transpose_b=True)                  # (B/G, G, K)
            z_neg = scale * cos_neg + bias
            w3 = tf.reshape(w, [-1, G, 1])
            dz_neg = tf.sigmoid(z_neg) * w3
            loss = tf.reduce_sum(w * tf.math.softplus(-z_pos)) + tf.reduce_sum(w3 * tf.math.softplus(z_neg))
            g_un = (scale * dz_pos)[:, None] * vn + tf.reshape(tf.matmul(scale * dz_neg, n3), [-1, dim])
            g_nn = tf.reshape(tf.matmul(scale * dz_neg, u3, transpose_a=True), [-1, dim])
        else:
            n3 = tf.reshape(nn, [B, K, dim])
            cos_neg = tf.einsum("bd,bkd->bk", un, n3)
            z_neg = scale * cos_neg + bias
            dz_neg = tf.sigmoid(z_neg) * w[:, None]
            loss = tf.reduce_sum(w * (tf.math.softplus(-z_pos) + tf.reduce_sum(tf.math.softplus(z_neg), axis=1)))
            g_un = (scale * dz_pos)[:, None] * vn + tf.einsum("bk,bkd->bd", scale * dz_neg, n3)
            g_nn = tf.reshape((scale * dz_neg)[:, :, None] * un[:, None, :], [-1, dim])
        g_vn = (scale * dz_pos)[:, None] * un
        ga = tf.reduce_sum(dz_pos * cos_pos) + tf.reduce_sum(dz_neg * cos_neg)
        gb = tf.reduce_sum(dz_pos) + tf.reduce_sum(dz_neg)
        d_u, d_v, d_n = -lr * back(g_un, un, iu), -lr * back(g_vn, vn, iv), -lr * back(g_nn, nn, ineg)
        table.scatter_add(tf.IndexedSlices(d_u, c))
        table.scatter_add(tf.IndexedSlices(d_v, o))
        table.scatter_add(tf.IndexedSlices(d_n, neg))
        if artists is not None:
            to_artist(d_u, c, uc)
            to_artist(d_v, o, vc)
            to_artist(d_n, neg, nc)
        n = tf.maximum(tf.reduce_sum(w), 1.0)
        scale.assign_sub(lr * ga / n)
        bias.assign_sub(lr * gb / n)
        return loss

    batch_fn = tied_batch if params.tied else untied_batch

    # One trace for every call (any number of steps S), and no AutoGraph conversion: the
    # loop is an explicit while_loop, which halves the tracing time (~0.3 s per process).
    batches = tf.TensorSpec([None, params.batch_size], tf.int32)
    signature = [batches, batches, tf.TensorSpec([None, params.batch_size], tf.float32),
                 tf.TensorSpec([None], tf.float32), tf.TensorSpec([2], tf.int64)]

    @tf.function(input_signature=signature, autograph=False)
    def run(centres, contexts, weights, lrs, seed):
        # centres/contexts/weights: (S, B); lrs: (S,); seed: (2,) int64
        def body(s, total):
            step_seed = tf.stack([seed[0], seed[1] * 1_000_003 + tf.cast(s, tf.int64)])
            return s + 1, total + batch_fn(centres[s], contexts[s], weights[s], lrs[s], step_seed)

        _, total = tf.while_loop(lambda s, total: s < tf.shape(centres)[0], body,
                                 (tf.constant(0), tf.constant(0.0, tf.float32)))
        return total

    return table, run, (scale, bias)


def _artist_rows(artists: np.ndarray, base: int) -> np.ndarray:
    """The table row of each song's artist: ``base + artist``, or the zero row
    ``base + n_artists`` for a song without one (``-1``)."""
    n_artists = int(artists.max()) + 1
    return np.where(artists >= 0, base + artists, base + n_artists).astype(np.int32)


def _check_artists(artists, V: int, params: TrainParams) -> np.ndarray | None:
    """The ``artists`` argument of :func:`train` as int32 (None when not used)."""
    if not params.artist_vectors:
        return None
    if artists is None:
        raise ValueError("artist_vectors=True needs artists (the artist index of each song, -1 for none)")
    a = np.asarray(artists)
    if a.shape != (V,) or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"artists must be {V} integers (one per song), got {a.dtype} array of shape {a.shape}")
    if len(a) and a.min() < -1:
        raise ValueError(f"artists must be >= 0, or -1 for a song without an artist; got {int(a.min())}")
    if not (a >= 0).any():
        return None   # no song has an artist: plain vectors
    return a.astype(np.int32)


def _hogwild_workers(threads: int) -> int:
    return threads if _HOGWILD else 1


def _chunks(n_steps: int, target: int, workers: int) -> tuple[int, np.ndarray]:
    """Split an epoch's ``n_steps`` batches into calls of about ``target`` steps.

    The number of calls is a multiple of ``workers`` and the calls differ by at
    most one step, so Hogwild workers finish an epoch together (with 2 workers,
    3 calls of 512 steps leave one worker idle for a third of the epoch).

    Returns
    -------
    n_calls : int
    bounds : numpy.ndarray
        int64, length ``n_calls + 1``: call ``k`` runs steps
        ``bounds[k]:bounds[k + 1]``.
    """
    n_calls = max(1, -(-n_steps // target))
    if workers > 1:
        n_calls = max(1, min(n_steps, -(-n_calls // workers) * workers))
    return n_calls, np.linspace(0, n_steps, n_calls + 1).round().astype(np.int64)


def train(offsets: np.ndarray, values: np.ndarray, counts: np.ndarray, params: TrainParams,
          threads: int = 1, progress: Callable[[str], None] | None = None,
          artists: np.ndarray | None = None) -> TrainResult:
    """Learn song embeddings from playlists with skip-gram negative sampling.

    Parameters
    ----------
    offsets : numpy.ndarray
        int64, length ``n_playlists + 1``; playlist ``i`` is
        ``values[offsets[i]:offsets[i + 1]]``.
    values : numpy.ndarray
        int32 song indices of all playlists, concatenated, each in ``[0, V)``.
    counts : numpy.ndarray
        int64, length ``V``: occurrences of each song in the corpus.
    params : TrainParams
        Hyper-parameters (validated; ``ValueError`` names the bad one).
    threads : int
        Hogwild worker threads and TensorFlow inter-op threads (each op runs
        on one thread).  TF accepts this only before its
        runtime starts; later calls in the same process keep the first value.
        ``threads=1`` is bit-for-bit reproducible.
    progress : callable, optional
        Receives short progress lines (a few per long epoch, one per epoch).
    artists : numpy.ndarray of int, shape (V,), optional
        The artist index of each song (``-1``: no artist), read when
        ``params.artist_vectors`` is True.  Without any artist (all ``-1``)
        the songs keep plain vectors.

    Returns
    -------
    TrainResult
        Embeddings ``(V, dim)`` float32 and per-epoch history.

    Raises
    ------
    ValueError
        Invalid parameters or an empty/ill-formed corpus.
    """
    t_start = time.perf_counter()
    if not isinstance(params, TrainParams):
        raise ValueError(f"params must be a TrainParams, got {type(params).__name__}")
    params.validate()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    offsets, values, counts_f = _check_corpus(offsets, values, counts)
    V = len(counts_f)
    artists = _check_artists(artists, V, params)
    say = progress or (lambda line: None)

    tf = _import_tf(int(threads))
    rng = np.random.default_rng(params.seed)
    pair_rngs = [np.random.default_rng([params.seed, 1, e]) for e in range(params.epochs)]

    weights = np.zeros(V)
    weights[counts_f > 0] = counts_f[counts_f > 0] ** params.ns_exponent   # count 0: never drawn
    if weights.sum() <= 0 or not np.isfinite(weights.sum()):
        raise ValueError("counts must have at least one positive entry (negative-sampling table is empty)")
    cum = np.cumsum(weights / weights.sum())
    cum[-1] = 1.0  # uniform draws are in [0, 1): never past the end
    keep = keep_probabilities(counts_f, params.subsample) if params.subsample > 0 else None

    B = params.batch_size
    S = _STEPS_PER_CALL
    lr0, lr1 = params.learning_rate, params.min_learning_rate
    history: list[dict] = []

    def epoch_pairs(e: int) -> np.ndarray:
        return make_pairs(offsets, values, params.window, keep, pair_rngs[e],
                          reduced_window=params.reduced_window)

    workers = _hogwild_workers(int(threads))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool, \
            concurrent.futures.ThreadPoolExecutor(max_workers=workers) as trainers:
        future = pool.submit(epoch_pairs, 0)   # the first pairs are built while TF sets up
        with tf.device("/CPU:0"):
            table, run, affine = _build_step(tf, params, cum, V, rng, artists=artists)
            # trace and optimise the step now, while the first pairs are built (a call of 0 steps
            # changes nothing); the first real call then starts at full speed
            empty = np.zeros((0, params.batch_size), np.int32)
            run(empty, empty, empty.astype(np.float32), np.zeros(0, np.float32),
                tf.constant([params.seed, 0], tf.int64))
        lr = lr0
        for e in range(params.epochs):
            t_epoch = time.perf_counter()
            pairs = future.result()
            if e + 1 < params.epochs:
                future = pool.submit(epoch_pairs, e + 1)
            n = len(pairs)
            n_steps = max(1, -(-n // B))
            padded = n_steps * B
            c = np.zeros(padded, np.int32)
            o = np.zeros(padded, np.int32)
            w = np.zeros(padded, np.float32)
            c[:n] = pairs[:, 0]
            o[:n] = pairs[:, 1]
            w[:n] = 1.0
            del pairs
            c = c.reshape(n_steps, B)
            o = o.reshape(n_steps, B)
            w = w.reshape(n_steps, B)
            frac = (e + np.arange(1, n_steps + 1) / n_steps) / params.epochs
            lrs = (lr0 - (lr0 - lr1) * frac).astype(np.float32)
            loss_sum = 0.0
            n_calls, bounds = _chunks(n_steps, S, workers)
            report_every = max(1, n_calls // 10)
            long_epoch = n_calls >= 20
            def call(k: int) -> float:
                sl = slice(bounds[k], bounds[k + 1])
                return float(run(c[sl], o[sl], w[sl], lrs[sl],
                                 tf.constant([params.seed, e * 1_000_000 + k], tf.int64)))

            def report(k: int) -> None:
                if long_epoch and (k + 1) % report_every == 0 and k + 1 < n_calls:
                    done = min(int(bounds[k + 1]) * B, n)
                    el = time.perf_counter() - t_epoch
                    say(f"epoch {e + 1}/{params.epochs}: {100 * done / max(n, 1):.0f}% "
                        f"loss {loss_sum / max(done, 1):.4f}, {done / max(el, 1e-9):,.0f} pairs/s")

            if workers == 1:
                for k in range(n_calls):
                    loss_sum += call(k)
                    report(k)
            else:
                # Hogwild: `workers` Python threads run chunks concurrently (TF
                # releases the GIL); results are consumed in order.
                for k, loss_k in enumerate(trainers.map(call, range(n_calls))):
                    loss_sum += loss_k
                    report(k)
            lr = float(lrs[-1])
            secs = time.perf_counter() - t_epoch
            loss = loss_sum / max(n, 1)
            history.append({
                "epoch": e + 1,
                "loss": loss,
                "positive_pairs": int(n),
                "seconds": secs,
                "pairs_per_second": n / secs if secs > 0 else 0.0,
                "learning_rate": lr,
            })
            say(f"epoch {e + 1}/{params.epochs}: loss {loss:.4f}, {n:,} pairs, "
                f"{n / max(secs, 1e-9):,.0f} pairs/s, {time.perf_counter() - t_start:.1f}s elapsed")
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"training diverged in epoch {e + 1} (loss {loss}); lower learning_rate or batch_size")

    full = table.numpy()
    emb = np.ascontiguousarray(full[:V], dtype=np.float32)
    if artists is not None:
        emb += full[_artist_rows(artists, V if params.tied else 2 * V)]
    ctx = None if params.tied else np.ascontiguousarray(full[V:2 * V], dtype=np.float32)
    a, b = ((float(affine[0].numpy()), float(affine[1].numpy())) if params.tied else (1.0, 0.0))
    return TrainResult(embeddings=emb, context=ctx, logit_scale=a, logit_bias=b, history=history, seconds=time.perf_counter() - t_start,
                       params={**asdict(params), "threads": int(threads)})
