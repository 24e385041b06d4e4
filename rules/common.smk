# Helpers and validation shared by all rules.
import os

from snakemake.exceptions import WorkflowError

from track2vec.config import check_config_file, grid_entries, replace_grid, validate_config
from track2vec.errors import ConfigError
from track2vec.text import slugify

try:
    for _path in [*workflow.configfiles, *workflow.overwrite_configfiles]:
        check_config_file(_path)
    replace_grid(config, workflow.overwrite_configfiles, dict(workflow.config_settings.config))
    _validated = validate_config(config, source="config.yaml (with --config overrides)")
except ConfigError as exc:
    raise WorkflowError(str(exc))
config.clear()
config.update(_validated)

RESULTS = config["results"]
ENTRIES = grid_entries(config)
SYNTHETIC = config["playlists"] == "synthetic"

if not SYNTHETIC and not os.path.exists(config["playlists"]):
    raise WorkflowError(
        f"config key 'playlists': file {config['playlists']!r} not found. Set it to an existing "
        ".npy, .csv or .parquet file (--config playlists=/path/to/music_2.npy), or to 'synthetic'."
    )


# radio seeds by file-name slug (results/radio/<slug>.*); two seeds with one slug are an error
RADIO_SEEDS = {}
for _title in config["radio"]["seeds"]:
    _slug = slugify(_title)
    if _slug in RADIO_SEEDS:
        raise WorkflowError(
            f"config key 'radio.seeds': {_title!r} and {RADIO_SEEDS[_slug]!r} give the same file name "
            f"{_slug!r}: list each seed once, or tell them apart (a track id works as a seed)"
        )
    RADIO_SEEDS[_slug] = _title


def res(path):
    """A path under the results folder."""
    return f"{RESULTS}/{path}"


def playlists_file(wildcards):
    """The playlists file to load (the built-in dataset, or the user's file)."""
    return res("data/synthetic.npy") if SYNTHETIC else config["playlists"]


def entry_params(wildcards):
    """Hyperparameters of one grid entry (defaults overridden by the entry)."""
    return ENTRIES[wildcards.entry]


def all_metrics(wildcards):
    """Validation metrics of every grid entry, in grid order."""
    return [res(f"metrics/{name}.json") for name in ENTRIES]


def all_train_logs(wildcards):
    """Per-epoch training logs of every grid entry, in grid order."""
    return [res(f"train_log/{name}.tsv") for name in ENTRIES]


def all_embeddings(wildcards):
    """Embedding matrices of every grid entry, in grid order."""
    return [res(f"embeddings/{name}.npy") for name in ENTRIES]


def metadata_file(wildcards):
    """The metadata file (track_id, title, name, preview): config key ``metadata``, else the
    built-in dataset's; an empty list when there is none (songs are then shown by id)."""
    if config["metadata"]:
        return [config["metadata"]]
    return [res("data/synthetic_tracks.csv")] if SYNTHETIC else []


def radio_seed(wildcards):
    """The seed song (title or track id) of the radio ``{slug}``."""
    return RADIO_SEEDS[wildcards.slug]


def radio_outputs():
    """The three files of every radio of config key ``radio.seeds``."""
    return [res(f"radio/{slug}.{ext}") for slug in RADIO_SEEDS for ext in ("m3u8", "json", "html")]


def final_outputs():
    return [res("grid.tsv"), res("best.json"), res("test_score.json"), *radio_outputs()]


# ---------------------------------------------------------------------------
# Threads and resources of every rule (mem_mb in MB, runtime in minutes).
#
# Snakemake calls these when a job is about to run, so the sizes of its input files
# are known (in a dry run before the inputs exist they show as "<TBD>"). A retried job
# (--retries, as in profiles/slurm) gets `attempt` times the memory and runtime.
# Locally they only limit what runs together when --resources mem_mb=N is given; on
# SLURM they become --mem and --time of each job (profiles/slurm/config.yaml).
# ---------------------------------------------------------------------------
import math

#: Playlists of the synthetic presets (track2vec.synthetic.PRESETS).
_PRESET_PLAYLISTS = {"full": 100_000, "tiny": 2_000}
#: Memory every job needs before reading data (Python, numpy, pandas, pyarrow).
_BASE_MB = 500
#: ... and a training job (TensorFlow's runtime).
_TF_BASE_MB = 1200
#: Queries scored per matrix product in track2vec.evaluate (block x vocabulary floats).
_EVAL_BLOCK = 2048


def _scaled(base, per_unit, units, attempt):
    """``(base + per_unit * units) * attempt``, rounded up to an integer."""
    return int(math.ceil((base + per_unit * units) * attempt))


def _file_mb(path):
    """Size of one (existing) file in MB; FileNotFoundError before it exists."""
    return os.path.getsize(path) / 1e6


def _synthetic_playlists():
    """Number of playlists the synthetic rule generates."""
    n = config["synthetic"]["n_playlists"]
    return n if n is not None else _PRESET_PLAYLISTS[config["synthetic"]["preset"]]


def synthetic_mem_mb(wildcards, attempt):
    """Memory of the synthetic rule: about 2 KB per generated playlist in Python lists."""
    return _scaled(_BASE_MB, 0.002, _synthetic_playlists(), attempt)


def synthetic_runtime(wildcards, attempt):
    """Runtime of the synthetic rule: about 1 minute per 100,000 playlists, plus slack."""
    return _scaled(10, 1e-5, _synthetic_playlists(), attempt)


def io_mem_mb(wildcards, input, attempt):
    """Memory of the load, vocab and split rules: 30x their compressed input.

    A pickled object array or a parquet file of token lists grows about tenfold
    once read into Python and pandas objects; 30x leaves room for the copies made
    while reshaping.
    """
    return _scaled(_BASE_MB, 30, input.size_mb, attempt)


def io_runtime(wildcards, input, attempt):
    """Runtime of the load, vocab and split rules: 10 minutes plus 1 minute per 10 MB of input."""
    return _scaled(10, 0.1, input.size_mb, attempt)


def _hyperparameter(wildcards, name):
    return ENTRIES[wildcards.entry][name]


def _parquet_rows(path):
    """Rows of a parquet file, from its footer (FileNotFoundError before it exists)."""
    import pyarrow.parquet

    os.stat(path)
    return pyarrow.parquet.read_metadata(path).num_rows


def train_mem_mb(wildcards, input, attempt):
    """Memory of one training job.

    TensorFlow's runtime, the training pairs of one epoch (about 70 MB per MB of
    training sequences and unit of window) and the embedding matrices (vocabulary x
    dim float32: input and output vectors, their gradients and the saved copy).
    """
    window = _hyperparameter(wildcards, "window")
    dim = _hyperparameter(wildcards, "dim")
    pairs_mb = 70 * window * _file_mb(input.train)
    matrices_mb = 5 * _parquet_rows(input.vocab) * dim * 4 / 1e6
    return _scaled(_TF_BASE_MB, 1, pairs_mb + matrices_mb, attempt)


def train_runtime(wildcards, input, attempt):
    """Runtime of one training job (minutes).

    About 0.8 M positive pairs per second and thread on a laptop core; one MB of
    training sequences gives about 1 M pairs per unit of window per epoch.
    Generous (5x) so a slower node does not hit the limit.
    """
    window = _hyperparameter(wildcards, "window")
    epochs = _hyperparameter(wildcards, "epochs")
    minutes = 5 * epochs * window * _file_mb(input.train) / 0.8 / 60
    return _scaled(10, 1, minutes, attempt)


def _score_mem_mb(embeddings_mb, dim, attempt):
    vocab_rows = embeddings_mb * 1e6 / (4 * dim)
    block_mb = 3 * _EVAL_BLOCK * vocab_rows * 4 / 1e6  # scores, partial sort, copies
    return _scaled(_BASE_MB, 1, 3 * embeddings_mb + block_mb, attempt)


def evaluate_mem_mb(wildcards, input, attempt):
    """Memory of an evaluate job: the embedding matrix (twice, normalised) and one
    block of query x vocabulary scores."""
    dim = _hyperparameter(wildcards, "dim")
    return _score_mem_mb(_file_mb(input.embeddings), dim, attempt)


def evaluate_runtime(wildcards, input, attempt):
    """Runtime of an evaluate job: 10 minutes plus 1 minute per 20 MB of embeddings."""
    return _scaled(10, 0.05, _file_mb(input.embeddings), attempt)


def test_mem_mb(wildcards, input, attempt):
    """Memory of the test job: as an evaluate job on the largest embedding matrix."""
    return max(
        _score_mem_mb(_file_mb(path), hp["dim"], attempt)
        for path, hp in zip(input.embeddings, ENTRIES.values())
    )


def test_runtime(wildcards, input, attempt):
    """Runtime of the test job: as an evaluate job on the largest embedding matrix."""
    return _scaled(10, 0.05, max(_file_mb(f) for f in input.embeddings), attempt)


def small_mem_mb(wildcards, attempt):
    """Memory of the aggregating rules (aggregate, best): small tables only."""
    return _scaled(_BASE_MB, 0, 0, attempt)


def small_runtime(wildcards, attempt):
    """Runtime of the aggregating rules (aggregate, best), in minutes."""
    return _scaled(5, 0, 0, attempt)
