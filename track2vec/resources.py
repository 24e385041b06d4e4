"""Memory (MB) and runtime (minutes) of the pipeline's jobs, from the sizes of their inputs.

``rules/common.smk`` reads a job's inputs when Snakemake is about to run it (file sizes in
MB, parquet row counts, the entry's hyperparameters) and asks these functions for the job's
``mem_mb`` and ``runtime``. Locally they only limit what runs together under
``--resources mem_mb=N``; on SLURM they become each job's ``--mem`` and ``--time``
(``profiles/slurm``). The estimates are generous: a job killed for memory or time costs more
than one that asks a little too much. A retried job asks ``attempt`` times as much.

Usage::

    from track2vec import resources

    resources.train_runtime(6.0, window=3, epochs=10, dim=256, negatives=20,
                            reference_dim=256, reference_negatives=20)    # minutes
    resources.evaluate_mem_mb(128.0, n_songs=125_000, dim=256, train_mb=6.0,
                              n_queries=10_000)                           # MB
"""

from __future__ import annotations

import math

from .knn import search_memory_bytes
from .synthetic import PRESETS

__all__ = [
    "evaluate_mem_mb",
    "evaluate_runtime",
    "ensemble_mem_mb",
    "io_mem_mb",
    "io_runtime",
    "preset_playlists",
    "radio_mem_mb",
    "report_mem_mb",
    "report_runtime",
    "search_mb",
    "small_mem_mb",
    "small_runtime",
    "synthetic_mem_mb",
    "synthetic_runtime",
    "train_mem_mb",
    "train_runtime",
]

#: memory of a job before it reads data: Python with numpy, pandas and pyarrow imported (a job
#: that reads little, such as evaluating the popularity baseline, peaks at 130-150 MB)
PYTHON_MB = 500
#: memory of a training job before it reads data: TensorFlow's runtime (training on the
#: e-commerce file, 0.65 MB of sequences, peaks at 720-800 MB)
TENSORFLOW_MB = 1200
#: what the report job adds to :data:`PYTHON_MB`: matplotlib and its figures
MATPLOTLIB_MB = 300
#: the least runtime of a job that reads data: start-up, imports and slack
MIN_MINUTES = 10
#: runtime of a job that aggregates small tables (aggregate, best, search)
SMALL_MINUTES = 5

#: memory per generated playlist (Python lists of tokens), in MB
SYNTHETIC_MB_PER_PLAYLIST = 0.002
#: generation time per playlist, in minutes (about a minute per 100,000 playlists)
SYNTHETIC_MINUTES_PER_PLAYLIST = 1e-5

#: memory per MB of compressed input of a job that reads token lists: into Python and pandas
#: objects (load, vocab, split, baseline, oracle), which grow about tenfold, with room for the
#: copies made while reshaping; or as arrays, to count songs and consecutive pairs (a scoring
#: job's training sequences: 29 MB per MB of the full preset's split/train.parquet)
READ_GROWTH = 30
#: minutes per MB of input of those jobs
READ_MINUTES_PER_MB = 0.1

#: memory of one epoch's training pairs, in MB per MB of training sequences and unit of window
PAIRS_MB_PER_MB = 70
#: vocabulary x dim float32 matrices a training job holds: input and output vectors, their
#: gradients and the saved copy
TRAIN_MATRIX_COPIES = 5
#: positive pairs per epoch, per MB of training sequences and unit of window, rounded up
#: (measured: 0.45 M on the full preset at window 3, 0.8 M on the e-commerce file)
PAIRS_PER_MB = 1e6
#: positive pairs per second and thread at the defaults' dim and negatives, rounded down
#: (measured: 0.11 M on one thread of a 2-core machine, the full preset at config.yaml's
#: defaults, dim 256 and 20 negatives); training is no faster below them, and slower in
#: proportion to dim x (negatives + 1) above
TRAIN_PAIRS_PER_SECOND = 0.1e6
#: margin of the training runtime over its estimate, for slower and busier nodes
TRAIN_RUNTIME_MARGIN = 5

#: copies of the model a scoring job (evaluate, test, radio) holds: as read, checked, and one
#: to spare (the search's own copies are in :func:`track2vec.knn.search_memory_bytes`)
MODEL_COPIES = 3
#: memory per MB of a baseline's .npz beyond :data:`MODEL_COPIES` while it ranks: the
#: co-occurrence rows of the queries, gathered as int64
BASELINE_RANKING_COPIES = 2
#: scoring time per MB of model, in minutes (a minute per 20 MB)
SCORING_MINUTES_PER_MB = 0.05

#: memory per MB of an ensemble's members: the members as read and the combined matrix (as
#: large), with room to spare (they are combined in 32 MiB slices)
ENSEMBLE_GROWTH = 2.5
#: what the report job holds per MB of the largest embedding it maps (read, and projected) and
#: per MB of the vocabulary table (read into pandas)
REPORT_EMBEDDING_COPIES = 2
REPORT_VOCAB_GROWTH = 3


def _scaled(base: float, per_unit: float, units: float, attempt: int) -> int:
    """``(base + per_unit * units) * attempt``, rounded up to an integer."""
    return int(math.ceil((base + per_unit * units) * attempt))


def preset_playlists(preset: str, n_playlists: int | None = None) -> int:
    """Playlists the synthetic job generates: ``n_playlists``, else the preset's
    (:data:`track2vec.synthetic.PRESETS`).

    Raises
    ------
    KeyError
        Unknown preset.
    """
    return int(n_playlists) if n_playlists is not None else PRESETS[preset].n_playlists


def synthetic_mem_mb(n_playlists: int, attempt: int = 1) -> int:
    """Memory of the synthetic job (MB).

    Parameters
    ----------
    n_playlists : int
        Playlists it generates (:func:`preset_playlists`).
    attempt : int
        1 for the first run of the job, 2 for its first retry, ...
    """
    return _scaled(PYTHON_MB, SYNTHETIC_MB_PER_PLAYLIST, n_playlists, attempt)


def synthetic_runtime(n_playlists: int, attempt: int = 1) -> int:
    """Runtime of the synthetic job (minutes); parameters as :func:`synthetic_mem_mb`."""
    return _scaled(MIN_MINUTES, SYNTHETIC_MINUTES_PER_PLAYLIST, n_playlists, attempt)


def io_mem_mb(input_mb: float, attempt: int = 1) -> int:
    """Memory of a job that reads token lists (load, vocab, split, baseline, oracle; MB).

    Parameters
    ----------
    input_mb : float
        Size of its input files, in MB.
    attempt : int
        1 for the first run of the job, 2 for its first retry, ...
    """
    return _scaled(PYTHON_MB, READ_GROWTH, input_mb, attempt)


def io_runtime(input_mb: float, attempt: int = 1) -> int:
    """Runtime of those jobs, and of the ensemble job (minutes); parameters as :func:`io_mem_mb`."""
    return _scaled(MIN_MINUTES, READ_MINUTES_PER_MB, input_mb, attempt)


def train_mem_mb(train_mb: float, n_songs: int, dim: int, window: int, attempt: int = 1) -> int:
    """Memory of a training job (MB): TensorFlow, one epoch's pairs and the embedding matrices.

    Parameters
    ----------
    train_mb : float
        Size of split/train.parquet, in MB.
    n_songs : int
        Songs in the vocabulary.
    dim, window : int
        The run's hyperparameters.
    attempt : int
        1 for the first run of the job, 2 for its first retry, ...
    """
    pairs_mb = PAIRS_MB_PER_MB * window * train_mb
    matrices_mb = TRAIN_MATRIX_COPIES * n_songs * dim * 4 / 1e6
    return _scaled(TENSORFLOW_MB, 1, pairs_mb + matrices_mb, attempt)


def train_runtime(
    train_mb: float,
    window: int,
    epochs: int,
    dim: int,
    negatives: int,
    reference_dim: int,
    reference_negatives: int,
    attempt: int = 1,
) -> int:
    """Runtime of a training job (minutes).

    :data:`PAIRS_PER_MB` pairs per MB of sequences, unit of window and epoch, trained at
    :data:`TRAIN_PAIRS_PER_SECOND` up to the reference's cost per pair,
    ``reference_dim * (reference_negatives + 1)``, and slower in proportion beyond it; times
    :data:`TRAIN_RUNTIME_MARGIN`. One thread is assumed: more only make the estimate more
    generous.

    Parameters
    ----------
    train_mb : float
        Size of split/train.parquet, in MB.
    window, epochs, dim, negatives : int
        The run's hyperparameters.
    reference_dim, reference_negatives : int
        Those of the defaults (config key ``defaults``), where the rate holds.
    attempt : int
        1 for the first run of the job, 2 for its first retry, ...
    """
    pairs = PAIRS_PER_MB * train_mb * window * epochs
    slowdown = max(1.0, dim * (negatives + 1) / (reference_dim * (reference_negatives + 1)))
    minutes = TRAIN_RUNTIME_MARGIN * pairs / TRAIN_PAIRS_PER_SECOND / 60 * slowdown
    return _scaled(MIN_MINUTES, 1, minutes, attempt)


def search_mb(n_songs: int, dim: int, n_queries: int | None = None) -> float:
    """Memory of an exact nearest-neighbour search (MB): :func:`track2vec.knn.search_memory_bytes`
    (faiss's float32 index, its candidates re-scored in float64, tied queries one at a time).

    Parameters
    ----------
    n_songs, dim : int
        Shape of the embedding.
    n_queries : int, optional
        Queries searched (default: a full block of them).
    """
    return search_memory_bytes(n_songs, dim, n_queries) / 1e6


def _scoring_mb(model_mb: float, n_songs: int, dim: int | None, train_mb: float, n_queries: int | None) -> float:
    """What a scoring job holds besides Python (MB): see :func:`evaluate_mem_mb`."""
    if dim is None:
        search = BASELINE_RANKING_COPIES * model_mb
    else:
        search = search_mb(n_songs, dim, n_queries)
    return MODEL_COPIES * model_mb + READ_GROWTH * train_mb + search


def evaluate_mem_mb(
    model_mb: float, n_songs: int, dim: int | None, train_mb: float, n_queries: int | None, attempt: int = 1
) -> int:
    """Memory of a job that scores one model at a time on query songs (evaluate, test; MB).

    Python, the model (:data:`MODEL_COPIES`), the training sequences, read to count songs
    (the popularity prior) and consecutive pairs (the test's cold-start scores;
    :data:`READ_GROWTH`), and the search: exact nearest neighbours for an embedding
    (:func:`search_mb`), the co-occurrence rows for a baseline (:data:`BASELINE_RANKING_COPIES`).

    Parameters
    ----------
    model_mb : float
        Size of the model file (embeddings .npy or baseline .npz), in MB.
    n_songs : int
        Songs in the vocabulary.
    dim : int or None
        Columns of the embedding; None for a baseline.
    train_mb : float
        Size of split/train.parquet, in MB.
    n_queries : int or None
        Query songs scored (the validation or test pairs); None: a full block.
    attempt : int
        1 for the first run of the job, 2 for its first retry, ...
    """
    return _scaled(PYTHON_MB, 1, _scoring_mb(model_mb, n_songs, dim, train_mb, n_queries), attempt)


def radio_mem_mb(
    model_mb: float, n_songs: int, dim: int | None, train_mb: float, catalog_mb: float, attempt: int = 1
) -> int:
    """Memory of a radio job (MB): as :func:`evaluate_mem_mb` with one query at a time (each
    step of the walk), and the catalog (the vocabulary and metadata tables, :data:`READ_GROWTH`).

    Parameters
    ----------
    model_mb, n_songs, dim, train_mb, attempt
        As :func:`evaluate_mem_mb`.
    catalog_mb : float
        Size of vocab.parquet and of the metadata file, in MB.
    """
    held = _scoring_mb(model_mb, n_songs, dim, train_mb, 1) + READ_GROWTH * catalog_mb
    return _scaled(PYTHON_MB, 1, held, attempt)


def evaluate_runtime(model_mb: float, attempt: int = 1, scorings: int = 1) -> int:
    """Runtime of a scoring job (minutes), from the size of its (largest) model in MB and the
    number of times it scores the pairs beyond the prior's scan (the context protocol's decays)."""
    return _scaled(MIN_MINUTES, SCORING_MINUTES_PER_MB * max(1, scorings), model_mb, attempt)


def ensemble_mem_mb(members_mb: float, attempt: int = 1) -> int:
    """Memory of an ensemble job (MB), from the summed size of its members' embeddings in MB."""
    return _scaled(PYTHON_MB, ENSEMBLE_GROWTH, members_mb, attempt)


def small_mem_mb(attempt: int = 1) -> int:
    """Memory of a job that aggregates small tables (aggregate, best, search; MB)."""
    return _scaled(PYTHON_MB, 0, 0, attempt)


def small_runtime(attempt: int = 1) -> int:
    """Runtime of those jobs (minutes)."""
    return _scaled(SMALL_MINUTES, 0, 0, attempt)


def report_mem_mb(largest_embedding_mb: float, vocab_mb: float, attempt: int = 1) -> int:
    """Memory of the report job (MB): matplotlib, the largest embedding it maps and the vocabulary.

    Parameters
    ----------
    largest_embedding_mb : float
        Size of the largest embeddings file among the sgns entries' (0 without any), in MB.
    vocab_mb : float
        Size of vocab.parquet, in MB.
    attempt : int
        1 for the first run of the job, 2 for its first retry, ...
    """
    held_mb = REPORT_EMBEDDING_COPIES * largest_embedding_mb + REPORT_VOCAB_GROWTH * vocab_mb
    return _scaled(PYTHON_MB + MATPLOTLIB_MB, 1, held_mb, attempt)


def report_runtime(attempt: int = 1) -> int:
    """Runtime of the report job (a few figures; minutes)."""
    return _scaled(MIN_MINUTES, 0, 0, attempt)
