"""Song embeddings from playlists: skip-gram with negative sampling (SGNS) in TensorFlow.

:func:`train` reads playlists in CSR form (``offsets``, ``values``) and learns one vector per
song. Every two songs of a playlist at distance ``1..window`` make a positive pair, after
word2vec's down-sampling of frequent songs and, by default, its reduced windows; each pair meets
``negatives`` songs drawn in proportion to ``count ** ns_exponent``. Two models share the
training loop:

* ``tied=False`` is word2vec's SGNS: an input and an output matrix and ``logit = u . v``; the
  embeddings are the input vectors (gensim's ``wv``).
* ``tied=True`` is the seed project's Track2Vec model: one shared embedding, the cosine of the
  two songs and ``Dense(1, sigmoid)`` (``logit = a * cos + b``), with binary cross-entropy.

With ``artist_vectors``, every artist has a vector too, and a song's vector is its own row plus
its artist's row. An artist's row learns from all its songs, as fastText's subword vectors learn
from all the words that hold them, so a rare or unseen song starts from its artist's place.

Training is plain SGD with word2vec's linearly decaying learning rate. With ``threads=1`` the
result is bit-for-bit reproducible; with more threads, the workers update one table without
locks (Hogwild, as word2vec's and gensim's), and the result varies from run to run.

Usage::

    from track2vec.train import TrainParams, train

    result = train(offsets, values, counts, TrainParams(dim=64, epochs=5), threads=2)
    result.embeddings              # float32, shape (V, 64): row i is song i
    result.history[-1]["loss"]     # mean loss per positive pair in the last epoch

Design and measurements: docs/training.md.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

from . import scatter
from .errors import ConfigError

__all__ = [
    "DEVICES",
    "TF_LOG_VARIABLE",
    "TrainParams",
    "TrainResult",
    "train",
    "make_pairs",
    "keep_probabilities",
    "tf_log_level",
]

# Batches per tf.function call: enough to hide Python overhead, small enough to
# report progress and keep the learning-rate schedule fine-grained.
_STEPS_PER_CALL = 64
# Each group of this many consecutive pairs of a batch (a random group: the pairs are shuffled)
# shares its ``negatives`` draws. Every pair still meets ``negatives`` negatives with weight 1, so
# the loss and the expected gradient are word2vec's, but a group's logits are one small matrix
# product and a batch gathers and scatters 16x fewer negative rows (the per-row scatter-add is
# the cost on CPU). A batch size that is not a multiple of it uses its largest divisor not above
# it (1: every pair draws its own negatives).
_SHARED_NEGATIVES = 16


@dataclass(frozen=True)
class TrainParams:
    """Hyper-parameters of :func:`train`.

    The defaults are config.yaml's ``defaults:`` (tests/test_train.py checks that they agree).

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
        True: the seed's Track2Vec model (shared embedding, cosine,
        Dense(1, sigmoid)); False: word2vec (separate input/output embeddings).
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
        True: a song's vector is its own row plus its artist's row, the
        artists coming from the ``artists`` argument of :func:`train`.
        Without ``artists`` (None), or without any known artist (all ``-1``),
        every song keeps a plain vector, as with False.
    """

    dim: int = 256
    window: int = 3
    negatives: int = 20
    ns_exponent: float = 0.0
    subsample: float = 1e-3
    epochs: int = 10
    learning_rate: float = 0.025
    min_learning_rate: float = 0.0001
    batch_size: int = 1024
    tied: bool = True
    seed: int = 1
    reduced_window: bool = True
    artist_vectors: bool = True

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
        vectors for the untied model; with artist vectors, the song's row plus
        its artist's).
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
    seconds: float = 0.0
    params: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Corpus checks and pair generation (numpy)
# ---------------------------------------------------------------------------


def _check_corpus(
    offsets: np.ndarray, values: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The corpus as int64 offsets, int32 values and float64 counts; ``ValueError`` if ill-formed."""
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


def make_pairs(
    offsets: np.ndarray,
    values: np.ndarray,
    window: int,
    keep: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    shuffle: bool = True,
    reduced_window: bool = False,
) -> np.ndarray:
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
        # (the same draws), in one pass, without an index array or 2-D fancy indexing
        pairs = np.ascontiguousarray(pairs)
        rng.shuffle(pairs.view(np.int64).reshape(-1))
    return pairs


# ---------------------------------------------------------------------------
# Artists
# ---------------------------------------------------------------------------


def _artist_rows(artists: np.ndarray, base: int) -> np.ndarray:
    """The table row of each song's artist: ``base + artist``, or the zero row
    ``base + n_artists`` for a song without one (``-1``)."""
    n_artists = int(artists.max()) + 1
    return np.where(artists >= 0, base + artists, base + n_artists).astype(np.int32)


def _check_artists(artists, V: int, params: TrainParams) -> np.ndarray | None:
    """The ``artists`` argument of :func:`train` as int32, or None for plain song vectors
    (``artist_vectors`` off, no ``artists``, or no song with a known artist)."""
    if not params.artist_vectors or artists is None:
        return None
    a = np.asarray(artists)
    if a.shape != (V,) or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"artists must be {V} integers (one per song), got {a.dtype} array of shape {a.shape}")
    if len(a) and a.min() < -1:
        raise ValueError(f"artists must be >= 0, or -1 for a song without an artist; got {int(a.min())}")
    if not (a >= 0).any():
        return None
    return a.astype(np.int32)


# ---------------------------------------------------------------------------
# TensorFlow part: the table and the batch steps
# ---------------------------------------------------------------------------


#: where :func:`train` runs (config key ``train.device``): ``auto`` (the first GPU TensorFlow sees,
#: else the CPU), ``cpu``, or ``gpu`` (an error when TensorFlow sees none)
DEVICES = ("auto", "cpu", "gpu")
#: set to 1 to see TensorFlow's own log lines as TensorFlow writes them
TF_LOG_VARIABLE = "TRACK2VEC_TF_LOG"
#: TensorFlow's log level unless the user sets ``TF_CPP_MIN_LOG_LEVEL``: its errors only
_QUIET_LEVEL = 2
#: a line of TensorFlow's native (absl) log: severity letter, date, time (before absl is set up: 00:00:
#: and seconds since 1970), thread, file:line]
_NATIVE_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] ")
#: the same, in TensorFlow's own format (``2026-01-30 22:44:42.456316: I tensorflow/...``)
_TF_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) ")
#: absl's note before its first line when nobody set its log up (TensorFlow never does)
_ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
#: the error TensorFlow's CUDA build logs when it looks for a GPU on a machine without one: no
#: error for the training, which says in its log where it runs
_NO_GPU = re.compile(r"\] failed call to cuInit: ")


def tf_log_level() -> int | None:
    """The least severity of TensorFlow's log lines that reach stderr (0 info, 1 warning, 2 error,
    3 fatal), and ``TF_CPP_MIN_LOG_LEVEL`` set to it before TensorFlow is imported.

    ``TF_CPP_MIN_LOG_LEVEL`` when the user set it, else 2 (errors only). None when
    ``TRACK2VEC_TF_LOG`` is set (and not 0): TensorFlow then logs as it does by itself.
    """
    if os.environ.get(TF_LOG_VARIABLE, "0") not in ("", "0"):
        return None
    try:
        level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", _QUIET_LEVEL))
    except ValueError:
        level = _QUIET_LEVEL
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", str(level))
    return level


def _below(line: str, level: int) -> bool:
    """Whether ``line`` is a TensorFlow log line less severe than ``level`` (or absl's preamble),
    or the CUDA build's report that the machine has no GPU."""
    if line.rstrip("\r\n") == _ABSL_PREAMBLE:
        return level >= 1
    m = _NATIVE_LINE.match(line) or _TF_LINE.match(line)
    return bool(m) and (_SEVERITY[m.group(1)] < level or bool(_NO_GPU.search(line)))


@contextlib.contextmanager
def _native_log_filtered(level: int | None) -> Iterator[None]:
    """Drop TensorFlow's log lines below ``level`` from what the process writes to stderr meanwhile.

    Some of TensorFlow's libraries log through absl before anything sets absl's level, which
    ``TF_CPP_MIN_LOG_LEVEL`` does not reach (oneDNN's "custom operations are on" line, at import).
    stderr (file descriptor 2) goes to a temporary file while TensorFlow loads; then the lines
    that are not such log lines below ``level`` go on to stderr, in order. Nothing is filtered
    with ``level`` None or 0.
    """
    if not level:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no stderr to redirect
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode("utf-8", errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not _below(line, level))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


def _import_tf(threads: int, device: str = "cpu"):
    """TensorFlow, set to run each op on one thread and ``threads`` ops at a time, to log at
    :func:`tf_log_level` (its native libraries, its Python logger and absl's), and the device
    the training runs on (:func:`_device`).

    The batch ops are too small for intra-op threads to help, and ``threads`` inter-op threads let
    the Hogwild workers' calls run side by side.

    Returns
    -------
    tf : module
    device : str
        ``/GPU:0`` or ``/CPU:0``.
    """
    level = tf_log_level()
    with _native_log_filtered(level if "tensorflow" not in sys.modules else None):
        import tensorflow as tf

        if level:  # TensorFlow's Python-side log, and absl's, at the same level
            for name in ("tensorflow", "absl"):
                logging.getLogger(name).setLevel({1: logging.WARNING, 2: logging.ERROR}.get(level, logging.CRITICAL))
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
        return tf, _device(tf, device)


def _device(tf, device: str) -> str:
    """The TensorFlow device the training runs on, for ``device`` of :data:`DEVICES`:
    ``/GPU:0`` (the first GPU TensorFlow sees, allocating its memory as needed) or ``/CPU:0``.
    With ``cpu``, TensorFlow is kept off the GPUs altogether.

    Raises
    ------
    ConfigError
        ``gpu``, and TensorFlow sees no GPU.
    """
    gpus = tf.config.list_physical_devices("GPU")
    if device == "cpu" or not gpus:
        if device == "gpu":
            raise ConfigError(
                "config key 'train.device' is 'gpu' (train(device='gpu')) but TensorFlow sees no GPU: install "
                "TensorFlow's CUDA build (pip install -e '.[gpu]'), check that nvidia-smi lists a GPU and that "
                "CUDA_VISIBLE_DEVICES does not hide it (on SLURM, ask for one: --set-resources train:gpu=1), "
                "or set train.device: auto (a GPU when there is one) or cpu"
            )
        if gpus:
            with contextlib.suppress(RuntimeError):  # the runtime already started: it keeps them
                tf.config.set_visible_devices([], "GPU")
        return "/CPU:0"
    for gpu in gpus:
        with contextlib.suppress(RuntimeError, ValueError):
            tf.config.experimental.set_memory_growth(gpu, True)
    return "/GPU:0"


def _negative_cdf(counts: np.ndarray, ns_exponent: float) -> np.ndarray:
    """Cumulative distribution of the negatives, ``counts ** ns_exponent`` normalised.

    float64, so that rare songs keep their share (which matters for negative exponents). Songs
    with count 0 have no share and are never drawn. The last entry is exactly 1: a uniform draw in
    ``[0, 1)`` never falls past the end.
    """
    weights = np.zeros(len(counts))
    weights[counts > 0] = counts[counts > 0] ** ns_exponent
    if weights.sum() <= 0 or not np.isfinite(weights.sum()):
        raise ValueError("counts must have at least one positive entry (negative-sampling table is empty)")
    cum = np.cumsum(weights / weights.sum())
    cum[-1] = 1.0
    return cum


def _group_size(shared: int, batch_size: int) -> int:
    """Consecutive pairs of a batch that share their negatives: the largest divisor of
    ``batch_size`` not above ``shared``, or 0 (each pair draws its own) where that is 1."""
    if shared:
        shared = max(g for g in range(1, min(shared, batch_size) + 1) if batch_size % g == 0)
    return 0 if shared == 1 else shared


def _initial_table(params: TrainParams, V: int, rng: np.random.Generator, artists: np.ndarray | None) -> np.ndarray:
    """The table's initial values (see :class:`_BatchStep` for its rows).

    Song and artist rows start ``uniform(-h, h)``, with ``h = 0.05`` for the tied model (Keras'
    default) and ``h = 1 / dim`` for the untied one (gensim 4's); the untied output rows and the
    zero row start at 0.
    """
    n_song_rows = V if params.tied else 2 * V
    n_artists = 0 if artists is None else int(artists.max()) + 1
    extra = 0 if artists is None else n_artists + 1
    half = 0.05 if params.tied else 1.0 / params.dim
    init = np.zeros((n_song_rows + extra, params.dim), np.float32)
    init[:V] = rng.uniform(-half, half, size=(V, params.dim))
    if artists is not None:
        init[n_song_rows : n_song_rows + n_artists] = rng.uniform(-half, half, size=(n_artists, params.dim))
    return init


def _unit(tf, x):
    """The rows of ``x`` scaled to length 1, and their inverse lengths."""
    inv = tf.math.rsqrt(tf.maximum(tf.reduce_sum(x * x, axis=1, keepdims=True), 1e-12))
    return x * inv, inv


def _through_unit(tf, g, x_hat, inv):
    """The gradient with respect to ``x``, given ``g``, the gradient with respect to ``x_hat = x / |x|``."""
    return (g - tf.reduce_sum(g * x_hat, axis=1, keepdims=True) * x_hat) * inv


class _BatchStep:
    """The variables of one :func:`train` call and one SGD step on a batch, as TF ops.

    ``table`` holds the songs' rows (untied: the input rows ``[0, V)``, then the output rows
    ``[V, 2V)``), then one row per artist, then a zero row that the songs without an artist point
    to (its updates are masked out). ``scale`` and ``bias`` are the tied model's ``Dense(1)``
    (``a``, starting at 1, and ``b``, at 0), None for the untied model.

    A step writes the gradients of its batch in closed form (what a ``GradientTape`` would give,
    without its overhead) and scatter-adds them into ``table`` with ``add``
    (:func:`track2vec.scatter.adder`: a compiled op on the CPU, else TensorFlow's; the same bits;
    ``scatter`` says which). Each pair's gradient is applied at the full learning rate, as
    word2vec updates per pair, not per batch mean, so a row met several times in a batch receives
    the sum of its gradients (very large batches can diverge). All
    gathers read the table before any scatter writes it (TF keeps program order between the ops
    on a variable): one combined update. Negatives are not re-drawn when they hit the positive
    context (as word2vec).
    """

    def __init__(
        self,
        tf,
        params: TrainParams,
        cum: np.ndarray,
        V: int,
        rng: np.random.Generator,
        shared: int,
        artists: np.ndarray | None,
        device: str = "/CPU:0",
    ):
        self.tf = tf
        self.dim, self.K, self.V, self.shared = params.dim, params.negatives, V, shared
        self.cum = tf.constant(cum, dtype=tf.float64)
        self.artists = artists is not None
        if self.artists:
            self.art_row = tf.constant(_artist_rows(artists, V if params.tied else 2 * V))
            self.art_mask = tf.constant((artists >= 0).astype(np.float32))
        self.table = tf.Variable(_initial_table(params, V, rng, artists))
        self.add, self.scatter = scatter.adder(tf, self.table, device)
        if params.tied:
            self.scale = tf.Variable(tf.constant(1.0, tf.float32))
            self.bias = tf.Variable(tf.constant(0.0, tf.float32))
            self.out_off = 0
        else:
            self.scale = self.bias = None
            self.out_off = V

    def draw(self, seed, B):
        """The negatives of a batch of ``B`` pairs, by inverse-CDF sampling of a stateless uniform draw."""
        tf = self.tf
        n = B // self.shared * self.K if self.shared else B * self.K
        u = tf.random.stateless_uniform([n], seed=seed, dtype=tf.float64)
        idx = tf.searchsorted(self.cum, u, side="right", out_type=tf.int32)
        return tf.minimum(idx, self.V - 1)

    def with_artist(self, x, songs):
        """Song rows plus their artists' rows, and the artists' table rows."""
        rows = self.tf.gather(self.art_row, songs)
        return x + self.tf.gather(self.table, rows), rows

    def to_artist(self, delta, songs, rows):
        """Scatter a song-row update into the songs' artist rows too (none without an artist)."""
        tf = self.tf
        self.add(delta * tf.gather(self.art_mask, songs)[:, None], rows)

    def untied_batch(self, c, o, w, lr, seed):
        """One word2vec SGNS step on centres ``c``, contexts ``o`` and pair weights ``w``; returns the loss.

        The loss of a pair is ``-log s(u . v_pos) - sum_k log s(-u . v_neg_k)``. The learning rate
        and pair weight are folded into per-pair coefficients first, so each ``(B, dim)`` tensor is
        touched as few times as possible; with artist vectors, only the centre song has its artist's.
        """
        tf, table, dim, K = self.tf, self.table, self.dim, self.K
        B = tf.shape(c)[0]
        neg = self.draw(seed, B) + self.out_off
        o = o + self.out_off
        u = tf.gather(table, c)
        if self.artists:
            u, uc = self.with_artist(u, c)
        v = tf.gather(table, o)
        nv = tf.gather(table, neg)
        s_pos = tf.reduce_sum(u * v, axis=1)
        wl = w * lr
        a_pos = tf.sigmoid(-s_pos) * wl  # -lr * dL/ds_pos
        if self.shared:
            # groups of G consecutive pairs share K negatives
            G = self.shared
            u3 = tf.reshape(u, [-1, G, dim])
            n3 = tf.reshape(nv, [-1, K, dim])
            s_neg = tf.matmul(u3, n3, transpose_b=True)  # (B/G, G, K)
            w3 = tf.reshape(w, [-1, G, 1])
            a_neg = tf.sigmoid(s_neg) * tf.reshape(-wl, [-1, G, 1])  # -lr * dL/ds_neg
            loss = tf.reduce_sum(w * tf.math.softplus(-s_pos)) + tf.reduce_sum(w3 * tf.math.softplus(s_neg))
            du = a_pos[:, None] * v + tf.reshape(tf.matmul(a_neg, n3), [-1, dim])
            dn = tf.reshape(tf.matmul(a_neg, u3, transpose_a=True), [-1, dim])  # (B/G*K, D)
        else:
            nv = tf.reshape(nv, [B, K, dim])
            s_neg = tf.einsum("bd,bkd->bk", u, nv)
            a_neg = tf.sigmoid(s_neg) * -wl[:, None]
            loss = tf.reduce_sum(w * (tf.math.softplus(-s_pos) + tf.reduce_sum(tf.math.softplus(s_neg), axis=1)))
            du = a_pos[:, None] * v + tf.einsum("bk,bkd->bd", a_neg, nv)
            dn = tf.reshape(a_neg[:, :, None] * u[:, None, :], [-1, dim])
        dv = a_pos[:, None] * u
        self.add(du, c)
        self.add(dv, o)
        self.add(dn, neg)
        if self.artists:
            self.to_artist(du, c, uc)
        return loss

    def tied_batch(self, c, o, w, lr, seed):
        """One Track2Vec step on centres ``c``, contexts ``o`` and pair weights ``w``; returns the loss.

        With ``z = a * cos + b``, the loss is binary cross-entropy against label 1 for the positive
        pair and 0 for each negative: ``dL/dz`` is ``-s(-z)`` for the positive pair and ``s(z)`` for a
        negative. The gradient goes back through the normalisation ``x_hat = x / |x|``. The rows get
        the per-pair (summed) gradient; ``a`` and ``b``, shared by every pair, get the batch mean, as
        Keras would apply. With artist vectors, every song (centre, context, negatives) has its artist's.
        """
        tf, table, dim, K, scale, bias = self.tf, self.table, self.dim, self.K, self.scale, self.bias
        B = tf.shape(c)[0]
        neg = self.draw(seed, B)
        u, v, nv = tf.gather(table, c), tf.gather(table, o), tf.gather(table, neg)
        if self.artists:
            (u, uc), (v, vc), (nv, nc) = self.with_artist(u, c), self.with_artist(v, o), self.with_artist(nv, neg)
        un, iu = _unit(tf, u)
        vn, iv = _unit(tf, v)
        nn, ineg = _unit(tf, nv)
        cos_pos = tf.reduce_sum(un * vn, axis=1)
        z_pos = scale * cos_pos + bias
        dz_pos = -tf.sigmoid(-z_pos) * w  # dL/dz_pos
        if self.shared:
            G = self.shared
            u3 = tf.reshape(un, [-1, G, dim])
            n3 = tf.reshape(nn, [-1, K, dim])
            cos_neg = tf.matmul(u3, n3, transpose_b=True)  # (B/G, G, K)
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
        d_u = -lr * _through_unit(tf, g_un, un, iu)
        d_v = -lr * _through_unit(tf, g_vn, vn, iv)
        d_n = -lr * _through_unit(tf, g_nn, nn, ineg)
        self.add(d_u, c)
        self.add(d_v, o)
        self.add(d_n, neg)
        if self.artists:
            self.to_artist(d_u, c, uc)
            self.to_artist(d_v, o, vc)
            self.to_artist(d_n, neg, nc)
        n = tf.maximum(tf.reduce_sum(w), 1.0)
        scale.assign_sub(lr * ga / n)
        bias.assign_sub(lr * gb / n)
        return loss


def _multi_step(tf, batch_step: Callable, batch_size: int):
    """The tf.function that runs ``S`` batch steps in one call (few Python round trips).

    ``run(centres, contexts, weights, lrs, seed)`` takes ``(S, batch_size)`` centres, contexts and
    pair weights, ``(S,)`` learning rates and a ``(2,)`` int64 seed, and returns the summed loss.
    Step ``s`` draws its negatives with the stateless seed ``(seed[0], seed[1] * 1_000_003 + s)``.
    One trace serves every ``S``: a fixed input signature, an explicit ``while_loop`` and no
    AutoGraph.
    """
    batches = tf.TensorSpec([None, batch_size], tf.int32)
    signature = [
        batches,
        batches,
        tf.TensorSpec([None, batch_size], tf.float32),
        tf.TensorSpec([None], tf.float32),
        tf.TensorSpec([2], tf.int64),
    ]

    @tf.function(input_signature=signature, autograph=False)
    def run(centres, contexts, weights, lrs, seed):
        def body(s, total):
            step_seed = tf.stack([seed[0], seed[1] * 1_000_003 + tf.cast(s, tf.int64)])
            return s + 1, total + batch_step(centres[s], contexts[s], weights[s], lrs[s], step_seed)

        _, total = tf.while_loop(
            lambda s, total: s < tf.shape(centres)[0], body, (tf.constant(0), tf.constant(0.0, tf.float32))
        )
        return total

    return run


def _build_step(
    tf,
    params: TrainParams,
    cum: np.ndarray,
    V: int,
    rng: np.random.Generator,
    shared: int | None = None,
    artists: np.ndarray | None = None,
    device: str = "/CPU:0",
):
    """The variables and the multi-step training tf.function of :func:`train`.

    ``cum`` is the negatives' distribution (:func:`_negative_cdf`), ``rng`` draws the initial
    table, ``shared`` is the group size of :data:`_SHARED_NEGATIVES` (None: that constant; 0:
    per-pair draws), ``artists`` each song's artist (``-1``: none), or None for no artist vectors,
    and ``device`` where the training runs.

    Returns
    -------
    step : _BatchStep
        Its ``table`` holds the rows described in :class:`_BatchStep`; ``scale`` and ``bias`` are
        the tied model's ``a`` and ``b`` (None for the untied model); ``scatter`` says which
        scatter-add writes the table.
    run : tf.function
        See :func:`_multi_step`.
    """
    group = _group_size(_SHARED_NEGATIVES if shared is None else shared, params.batch_size)
    step = _BatchStep(tf, params, cum, V, rng, group, artists, device)
    run = _multi_step(tf, step.tied_batch if params.tied else step.untied_batch, params.batch_size)
    return step, run


# ---------------------------------------------------------------------------
# Training loop
# ---------------------------------------------------------------------------


@dataclass
class _Epoch:
    """One epoch's work: ``n_pairs`` positive pairs laid out as ``(n_steps, batch_size)`` centres,
    contexts and weights (the last batch padded with pairs of weight 0), and each step's learning rate."""

    index: int
    started: float
    n_pairs: int
    centres: np.ndarray
    contexts: np.ndarray
    weights: np.ndarray
    lrs: np.ndarray


def _lay_out_epoch(pairs: np.ndarray, index: int, params: TrainParams, started: float) -> _Epoch:
    """Epoch ``index`` (0-based) of ``pairs``, with learning rates decaying linearly from
    ``learning_rate`` to ``min_learning_rate`` over all steps of all epochs."""
    B = params.batch_size
    n = len(pairs)
    n_steps = max(1, -(-n // B))
    padded = n_steps * B
    c = np.zeros(padded, np.int32)
    o = np.zeros(padded, np.int32)
    w = np.zeros(padded, np.float32)
    c[:n] = pairs[:, 0]
    o[:n] = pairs[:, 1]
    w[:n] = 1.0
    lr0, lr1 = params.learning_rate, params.min_learning_rate
    frac = (index + np.arange(1, n_steps + 1) / n_steps) / params.epochs
    lrs = (lr0 - (lr0 - lr1) * frac).astype(np.float32)
    return _Epoch(index, started, n, c.reshape(n_steps, B), o.reshape(n_steps, B), w.reshape(n_steps, B), lrs)


def _chunks(n_steps: int, target: int, workers: int) -> tuple[int, np.ndarray]:
    """Split an epoch's ``n_steps`` batches into calls of about ``target`` steps.

    The number of calls is a multiple of ``workers`` and the calls differ by at
    most one step, so Hogwild workers finish an epoch together.

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


def _train_epoch(
    tf,
    run,
    epoch: _Epoch,
    params: TrainParams,
    trainers: concurrent.futures.Executor,
    workers: int,
    say: Callable[[str], None],
    device: str = "/CPU:0",
) -> float:
    """Train one epoch in calls of about ``_STEPS_PER_CALL`` steps on ``device``; return the summed loss.

    Call ``k`` draws its negatives from the stateless seed ``(seed, index * 1_000_000 + k)``. With one
    worker the calls run in order in this thread. With more, ``workers`` threads of ``trainers`` run
    consecutive calls concurrently on the same table, without locks (Hogwild; TF releases the GIL):
    the pairs, negatives and learning rates are unchanged, but the order of concurrent updates is
    not, so the result varies from run to run. The losses are summed in call order.
    """
    n, B = epoch.n_pairs, params.batch_size
    n_calls, bounds = _chunks(len(epoch.lrs), _STEPS_PER_CALL, workers)

    def call(k: int) -> float:
        sl = slice(bounds[k], bounds[k + 1])
        with tf.device(device):  # per call: a device scope holds in its own thread only
            return float(
                run(
                    epoch.centres[sl],
                    epoch.contexts[sl],
                    epoch.weights[sl],
                    epoch.lrs[sl],
                    tf.constant([params.seed, epoch.index * 1_000_000 + k], tf.int64),
                )
            )

    losses = map(call, range(n_calls)) if workers == 1 else trainers.map(call, range(n_calls))
    report_every = max(1, n_calls // 10)
    loss_sum = 0.0
    for k, loss_k in enumerate(losses):
        loss_sum += loss_k
        if n_calls >= 20 and (k + 1) % report_every == 0 and k + 1 < n_calls:  # a long epoch: ~10 lines
            done = min(int(bounds[k + 1]) * B, n)
            el = time.perf_counter() - epoch.started
            say(
                f"epoch {epoch.index + 1}/{params.epochs}: {100 * done / max(n, 1):.0f}% "
                f"loss {loss_sum / max(done, 1):.4f}, {done / max(el, 1e-9):,.0f} pairs/s"
            )
    return loss_sum


def _epoch_record(epoch: _Epoch, loss_sum: float) -> dict:
    """The history entry of a trained epoch (see :class:`TrainResult`)."""
    n = epoch.n_pairs
    secs = time.perf_counter() - epoch.started
    return {
        "epoch": epoch.index + 1,
        "loss": loss_sum / max(n, 1),
        "positive_pairs": int(n),
        "seconds": secs,
        "pairs_per_second": n / secs if secs > 0 else 0.0,
        "learning_rate": float(epoch.lrs[-1]),
    }


def _traced_step(
    tf,
    params: TrainParams,
    cum: np.ndarray,
    V: int,
    rng: np.random.Generator,
    artists: np.ndarray | None,
    device: str = "/CPU:0",
):
    """:func:`_build_step`'s step and ``run`` on ``device``, the step already traced and optimised
    by a call of 0 steps (which changes nothing), so that the first real call starts at full speed."""
    with tf.device(device):
        step, run = _build_step(tf, params, cum, V, rng, artists=artists, device=device)
        empty = np.zeros((0, params.batch_size), np.int32)
        run(empty, empty, empty.astype(np.float32), np.zeros(0, np.float32), tf.constant([params.seed, 0], tf.int64))
    return step, run


def _check_inputs(offsets, values, counts, params, threads, artists):
    """The arguments of :func:`train`, checked: ``(offsets, values, counts, artists)`` as
    :func:`_check_corpus` and :func:`_check_artists` return them."""
    if not isinstance(params, TrainParams):
        raise ValueError(f"params must be a TrainParams, got {type(params).__name__}")
    params.validate()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    offsets, values, counts = _check_corpus(offsets, values, counts)
    return offsets, values, counts, _check_artists(artists, len(counts), params)


def _embeddings(table, V: int, params: TrainParams, artists: np.ndarray | None) -> np.ndarray:
    """The songs' vectors from the trained table: their rows, plus their artists' rows."""
    full = table.numpy()
    emb = np.ascontiguousarray(full[:V], dtype=np.float32)
    if artists is not None:
        emb += full[_artist_rows(artists, V if params.tied else 2 * V)]
    return emb


def train(
    offsets: np.ndarray,
    values: np.ndarray,
    counts: np.ndarray,
    params: TrainParams,
    threads: int = 1,
    progress: Callable[[str], None] | None = None,
    artists: np.ndarray | None = None,
    device: str = "auto",
) -> TrainResult:
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
        on one thread).  TF accepts this only before its runtime starts; later
        calls in the same process keep the first value.  ``threads=1`` is
        bit-for-bit reproducible.
    progress : callable, optional
        Receives short progress lines (a few per long epoch, one per epoch).
    artists : numpy.ndarray of int, shape (V,), optional
        The artist index of each song (``-1``: no artist), read when
        ``params.artist_vectors`` is True.  Without ``artists`` (None), as
        without any known artist (all ``-1``), every song keeps a plain vector.
    device : {"auto", "cpu", "gpu"}
        Where the training runs: the first GPU TensorFlow sees, else the CPU (``auto``); the
        CPU; or the GPU (``gpu``). On a GPU the result is not bit-for-bit reproducible, and
        differs in the last bits from the CPU's.

    Returns
    -------
    TrainResult
        Embeddings ``(V, dim)`` float32 and per-epoch history.

    Raises
    ------
    ValueError
        Invalid parameters or an empty/ill-formed corpus.
    ConfigError
        ``device="gpu"``, and TensorFlow sees no GPU.
    FloatingPointError
        The loss of an epoch is not finite (learning rate or batch size too large).

    Notes
    -----
    All randomness comes from ``params.seed``: numpy generators for the initial table and each
    epoch's pairs (subsampling, reduced windows, shuffling), stateless TF draws for the negatives.
    The pairs of epoch ``e + 1`` are built in a background thread while epoch ``e`` trains.
    """
    t_start = time.perf_counter()
    offsets, values, counts, artists = _check_inputs(offsets, values, counts, params, threads, artists)
    V = len(counts)
    say = progress or (lambda line: None)
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    tf, place = _import_tf(int(threads), device)
    say(f"training on {'the GPU' if place.startswith('/GPU') else 'the CPU'} ({place}; device {device})")
    rng = np.random.default_rng(params.seed)
    cum = _negative_cdf(counts, params.ns_exponent)
    keep = keep_probabilities(counts, params.subsample) if params.subsample > 0 else None

    def epoch_pairs(e: int) -> np.ndarray:
        return make_pairs(
            offsets,
            values,
            params.window,
            keep,
            np.random.default_rng([params.seed, 1, e]),
            reduced_window=params.reduced_window,
        )

    workers = int(threads)
    history: list[dict] = []
    with (
        concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool,
        concurrent.futures.ThreadPoolExecutor(max_workers=workers) as trainers,
    ):
        future = pool.submit(epoch_pairs, 0)  # the first pairs are built while TF sets up
        step, run = _traced_step(tf, params, cum, V, rng, artists, place)
        say(f"scatter-add: {step.scatter}")
        for e in range(params.epochs):
            started = time.perf_counter()
            pairs = future.result()
            if e + 1 < params.epochs:
                future = pool.submit(epoch_pairs, e + 1)
            epoch = _lay_out_epoch(pairs, e, params, started)
            del pairs
            record = _epoch_record(epoch, _train_epoch(tf, run, epoch, params, trainers, workers, say, place))
            history.append(record)
            loss, n, secs = record["loss"], record["positive_pairs"], record["seconds"]
            say(
                f"epoch {e + 1}/{params.epochs}: loss {loss:.4f}, {n:,} pairs, "
                f"{n / max(secs, 1e-9):,.0f} pairs/s, {time.perf_counter() - t_start:.1f}s elapsed"
            )
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"training diverged in epoch {e + 1} (loss {loss}); lower learning_rate or batch_size"
                )

    return TrainResult(
        embeddings=_embeddings(step.table, V, params, artists),
        history=history,
        seconds=time.perf_counter() - t_start,
        params={**asdict(params), "threads": int(threads)},
    )
