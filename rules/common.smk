# Helpers and validation shared by all rules.
import os
import re

from snakemake.exceptions import WorkflowError

from track2vec.config import TRAINING, check_config_file, grid_entries, replace_grid, validate_config
from track2vec.errors import ConfigError
from track2vec.grid import ensemble_members, entry_of, run_ids, split_run, training_params, training_sources
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
SYNTHETIC = config["playlists"] == "synthetic"
try:
    ENTRIES = grid_entries(config)  # the grid, plus the random-search trials when enabled
except ConfigError as exc:
    raise WorkflowError(str(exc))
# random-search trials: all in search.tsv, the best in grid.tsv
TRIALS = [name for name in ENTRIES if name not in config["grid"]]
# runs: {entry} and, with replicates, {entry}+r2 ... (sgns entries only)
RUNS = run_ids(ENTRIES, config["replicates"])
# trainings: each run of an sgns entry, and each member {entry}+m1... of an ensemble entry's
# runs; a member with the same training hyperparameters as another run reuses its files
SOURCES = training_sources(ENTRIES, RUNS, TRAINING)
TRAINED = [r for r, source in SOURCES.items() if source == r]
ENSEMBLE_RUNS = [r for r in RUNS if ensemble_members(ENTRIES, r)]
BASELINES = [n for n, hp in ENTRIES.items() if hp["method"] != "sgns"]
ORACLE = SYNTHETIC and config["oracle"]


def _alternatives(names):
    """A regex matching exactly these names (wildcard constraints); never matches if none."""
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


RUN_PATTERN = _alternatives(RUNS)
TRAINED_PATTERN = _alternatives(TRAINED)
ENSEMBLE_PATTERN = _alternatives(ENSEMBLE_RUNS)
BASELINE_PATTERN = _alternatives(BASELINES)

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
    """Training hyperparameters of one run or ensemble member: its grid entry's (defaults
    overridden by the entry), the seed moved by the replicate or member number. Not
    ``popularity_prior``, which only scores the suggestions: changing it re-runs the
    evaluation, not the training."""
    return training_params(ENTRIES, wildcards.entry, TRAINING)


def _member_files(run, folder, ext):
    return [res(f"{folder}/{SOURCES[m]}.{ext}") for m in ensemble_members(ENTRIES, run)]


def member_embeddings(wildcards):
    """The embeddings of an ensemble run's members (a member trained elsewhere in the grid
    under the same hyperparameters is read from there)."""
    return _member_files(wildcards.entry, "embeddings", "npy")


def member_logs(wildcards):
    """The training logs of an ensemble run's members."""
    return _member_files(wildcards.entry, "train_log", "tsv")


def entry_popularity(wildcards):
    """The popularity prior's weight of a run's entry (0 for the baselines; or ``auto``)."""
    hp = ENTRIES[split_run(wildcards.entry)[0]]
    return hp["popularity_prior"] if hp["method"] == "sgns" else 0.0


def baseline_method(wildcards):
    """``popularity`` or ``cooccurrence``: the method of a baseline entry."""
    return ENTRIES[wildcards.entry]["method"]


def baseline_window(wildcards):
    """The co-occurrence window of a baseline entry."""
    return ENTRIES[wildcards.entry]["window"]


def _model_path(run):
    name = split_run(run)[0]
    if ENTRIES[name]["method"] == "sgns":
        return res(f"embeddings/{run}.npy")
    return res(f"baselines/{name}.npz")


def model_file(wildcards):
    """What a run learnt: its embeddings (sgns) or its counted baseline."""
    return _model_path(wildcards.entry)


def all_metrics(wildcards):
    """Validation metrics of every run, in grid order."""
    return [res(f"metrics/{run}.json") for run in RUNS]


def all_train_logs(wildcards):
    """Training logs of every run, in grid order."""
    return [res(f"train_log/{run}.tsv") for run in RUNS]


def all_models(wildcards):
    """Models (embeddings or baselines) of every run, in grid order."""
    return [_model_path(run) for run in RUNS]


def entry_models(wildcards):
    """The model of the first run of every entry, in grid order."""
    return [_model_path(name) for name in ENTRIES]


def trial_metrics(wildcards):
    """Validation metrics of the random-search trials' runs."""
    return [res(f"metrics/{run}.json") for run in RUNS if split_run(run)[0] in TRIALS]


def trial_train_logs(wildcards):
    """Training logs of the random-search trials' runs."""
    return [res(f"train_log/{run}.tsv") for run in RUNS if split_run(run)[0] in TRIALS]


def oracle_metrics(wildcards):
    """The oracle's scores on the built-in dataset (none on a user's file)."""
    return [res("metrics/oracle.json")] if ORACLE else []


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


#: the report's files under results/report/, by output name (rules/report.smk)
REPORT_FILES = {
    "grid": "grid.html",
    "scores": "scores.png",
    "hyperparameters": "hyperparameters.png",
    "loss": "loss.png",
    "test": "test_score.png",
    "test_table": "test_score.html",
    "map": "embedding_map.png",
}


def report_outputs():
    """The figures and tables of the Snakemake report (rule report)."""
    return [res(f"report/{name}") for name in REPORT_FILES.values()]


def sgns_embeddings(wildcards):
    """The embeddings of the first run of every sgns entry, in grid order (the report maps
    the best of them)."""
    return [res(f"embeddings/{name}.npy") for name, hp in ENTRIES.items() if hp["method"] == "sgns"]


def generator_file(wildcards):
    """The built-in dataset's generator (genres of the songs); none on a user's file."""
    return [res("data/synthetic_model.npz")] if SYNTHETIC else []


def final_outputs():
    search = [res("search.tsv")] if TRIALS else []
    return [res("grid.tsv"), res("best.json"), res("test_score.json"), *search, *radio_outputs(), *report_outputs()]


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
    """A hyperparameter of a run or ensemble member (a member's own window and seed)."""
    if name in TRAINING:
        return training_params(ENTRIES, wildcards.entry, (name,))[name]
    return ENTRIES[entry_of(wildcards.entry)][name]


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


#: dim x (negatives + 1) of the defaults (256 x 11): the cost per pair the runtime estimate is measured at
_DEFAULT_PAIR_WORK = 256 * 11


def train_runtime(wildcards, input, attempt):
    """Runtime of one training job (minutes).

    About 0.8 M positive pairs per second and thread on a laptop core up to dim 256
    with 10 negatives (the defaults), slower in proportion beyond; one MB of training
    sequences gives about 1 M pairs per unit of window per epoch. Generous (5x) so a
    slower node does not hit the limit.
    """
    window = _hyperparameter(wildcards, "window")
    epochs = _hyperparameter(wildcards, "epochs")
    work = _hyperparameter(wildcards, "dim") * (_hyperparameter(wildcards, "negatives") + 1)
    minutes = 5 * epochs * window * _file_mb(input.train) / 0.8 / 60 * max(1.0, work / _DEFAULT_PAIR_WORK)
    return _scaled(10, 1, minutes, attempt)


def evaluate_mem_mb(wildcards, input, attempt):
    """Memory of an evaluate job: the embedding matrix (twice, normalised) and one
    block of query x vocabulary scores."""
    embeddings_mb = _file_mb(input.model)
    block_mb = 3 * _EVAL_BLOCK * _parquet_rows(input.vocab) * 4 / 1e6  # scores, partial sort, copies
    return _scaled(_BASE_MB, 1, 3 * embeddings_mb + block_mb, attempt)


def ensemble_mem_mb(wildcards, input, attempt):
    """Memory of an ensemble job: its members as read and the combined matrix (as large), with
    room to spare (the combining works in 32 MiB slices)."""
    return _scaled(_BASE_MB, 2.5, sum(_file_mb(f) for f in input.members), attempt)


def evaluate_runtime(wildcards, input, attempt):
    """Runtime of an evaluate job: 10 minutes plus 1 minute per 20 MB of embeddings."""
    return _scaled(10, 0.05, _file_mb(input.model), attempt)


def test_mem_mb(wildcards, input, attempt):
    """Memory of the test and radio jobs: the largest model (three copies) and one block
    of query x vocabulary scores."""
    block_mb = 3 * _EVAL_BLOCK * _parquet_rows(input.vocab) * 4 / 1e6
    return _scaled(_BASE_MB, 1, 3 * max(_file_mb(f) for f in input.models) + block_mb, attempt)


def test_runtime(wildcards, input, attempt):
    """Runtime of the test job: as an evaluate job on the largest embedding matrix."""
    return _scaled(10, 0.05, max(_file_mb(f) for f in input.models), attempt)


def small_mem_mb(wildcards, attempt):
    """Memory of the aggregating rules (aggregate, best): small tables only."""
    return _scaled(_BASE_MB, 0, 0, attempt)


def small_runtime(wildcards, attempt):
    """Runtime of the aggregating rules (aggregate, best), in minutes."""
    return _scaled(5, 0, 0, attempt)


def report_mem_mb(wildcards, input, attempt):
    """Memory of the report rule: matplotlib, the vocabulary and one embedding matrix (twice)."""
    largest = max([_file_mb(f) for f in input.embeddings], default=0.0)
    return _scaled(_BASE_MB + 300, 1, 2 * largest + 3 * _file_mb(input.vocab), attempt)


def report_runtime(wildcards, attempt):
    """Runtime of the report rule (a few figures), in minutes."""
    return _scaled(10, 0, 0, attempt)
