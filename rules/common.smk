# Helpers and validation shared by all rules.
import os
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError

from track2vec import resources as estimates
import track2vec
from track2vec.codedeps import CodeIndex
from track2vec.config import TRAINING, check_config_file, grid_entries, replace_grid, validate_config
from track2vec.errors import ConfigError
from track2vec.grid import ensemble_members, entry_of, run_ids, training_params, training_sources
from track2vec.names import EMBEDDING, RUN_ID_PATTERN
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
BASELINES = [n for n, hp in ENTRIES.items() if hp["method"] != EMBEDDING]
SGNS_ENTRIES = [n for n, hp in ENTRIES.items() if hp["method"] == EMBEDDING]
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


#: the package's modules, their imports and digests: the code each rule runs
CODE = CodeIndex(Path(track2vec.__file__).parent)


def code(rule):
    """The params that make ``rule`` re-run when the code it runs changes: one per file, its
    script ``scripts/<rule>.py`` and every package module it imports (transitively), each
    named with a digest that ignores comments, docstrings and formatting (track2vec/codedeps.py)."""
    return CODE.params(Path(workflow.basedir) / "scripts" / f"{rule}.py", label=f"scripts/{rule}.py")


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
    hp = ENTRIES[entry_of(wildcards.entry)]
    return hp["popularity_prior"] if hp["method"] == EMBEDDING else 0.0


def entry_context_decay(wildcards):
    """The context decay of a run's entry (a number or ``auto``), or None without a context
    protocol (``evaluate.context: last``), so that changing it then re-runs nothing."""
    if config["evaluate"]["context"] == "last":
        return None
    return ENTRIES[entry_of(wildcards.entry)]["context_decay"]


def baseline_method(wildcards):
    """``popularity`` or ``cooccurrence``: the method of a baseline entry."""
    return ENTRIES[wildcards.entry]["method"]


def baseline_window(wildcards):
    """The co-occurrence window of a baseline entry."""
    return ENTRIES[wildcards.entry]["window"]


def _model_path(run):
    name = entry_of(run)
    if ENTRIES[name]["method"] == EMBEDDING:
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
    return [res(f"metrics/{run}.json") for run in RUNS if entry_of(run) in TRIALS]


def trial_train_logs(wildcards):
    """Training logs of the random-search trials' runs."""
    return [res(f"train_log/{run}.tsv") for run in RUNS if entry_of(run) in TRIALS]


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


def radio_quality_outputs():
    """The radio quality table and its report page (none with ``radio.quality_seeds: 0``)."""
    if not config["radio"]["quality_seeds"]:
        return []
    return [res("radio/quality.tsv"), res("report/radio_quality.html")]


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
    return [res(f"embeddings/{name}.npy") for name in SGNS_ENTRIES]


def generator_file(wildcards):
    """The built-in dataset's generator (genres of the songs); none on a user's file."""
    return [res("data/synthetic_model.npz")] if SYNTHETIC else []


def export_inputs(wildcards):
    """What an export job reads: for ``best``, best.json, grid.tsv and every sgns entry's
    embeddings (it exports one of them); otherwise the entry's own model."""
    if wildcards.entry == "best":
        return {"best": res("best.json"), "grid": res("grid.tsv"), "models": sgns_embeddings(wildcards)}
    return {"best": [], "grid": [], "models": [model_file(wildcards)]}


def export_outputs():
    """The export of the best entry (results/export/best/), when the grid has an sgns entry."""
    from track2vec.export import EXPORT_FILES

    return [res(f"export/best/{name}") for name in EXPORT_FILES.values()] if SGNS_ENTRIES else []


def final_outputs():
    search = [res("search.tsv")] if TRIALS else []
    return [
        res("grid.tsv"),
        res("best.json"),
        res("test_score.json"),
        *search,
        *radio_outputs(),
        *radio_quality_outputs(),
        *report_outputs(),
        *export_outputs(),
    ]


# ---------------------------------------------------------------------------
# Threads and resources of every rule (mem_mb in MB, runtime in minutes).
#
# Snakemake calls these when a job is about to run, so the sizes of its input files
# are known (in a dry run before the inputs exist they show as "<TBD>"). They read the
# job's inputs and hyperparameters; the estimates and their constants are in
# track2vec/resources.py. A retried job (--retries, as in profiles/slurm) gets `attempt`
# times the memory and runtime. Locally they only limit what runs together when
# --resources mem_mb=N is given; on SLURM they become --mem and --time of each job
# (profiles/slurm/config.yaml).
# ---------------------------------------------------------------------------


def _file_mb(path):
    """Size of one (existing) file in MB; FileNotFoundError before it exists."""
    return os.path.getsize(path) / 1e6


def _parquet_rows(path):
    """Rows of a parquet file, from its footer (FileNotFoundError before it exists)."""
    import pyarrow.parquet

    os.stat(path)
    return pyarrow.parquet.read_metadata(path).num_rows


def _embedding_dim(path):
    """Columns of an embeddings .npy, from its header; None for a baseline's .npz
    (FileNotFoundError before it exists)."""
    os.stat(path)
    if not str(path).endswith(".npy"):
        return None
    import numpy

    return numpy.load(path, mmap_mode="r").shape[1]


def _hyperparameter(wildcards, name):
    """A hyperparameter of a run or ensemble member (a member's own window and seed)."""
    if name in TRAINING:
        return training_params(ENTRIES, wildcards.entry, (name,))[name]
    return ENTRIES[entry_of(wildcards.entry)][name]


def _scoring_inputs(model, input):
    """Size of ``model`` (a file), songs, its dim (None for a baseline) and size of the training
    sequences: what track2vec.resources needs to estimate a scoring job."""
    return _file_mb(model), _parquet_rows(input.vocab), _embedding_dim(model), _file_mb(input.train)


def synthetic_mem_mb(wildcards, attempt):
    """Memory of the synthetic rule: its playlists as Python lists."""
    n = estimates.preset_playlists(config["synthetic"]["preset"], config["synthetic"]["n_playlists"])
    return estimates.synthetic_mem_mb(n, attempt)


def synthetic_runtime(wildcards, attempt):
    """Runtime of the synthetic rule, from its number of playlists."""
    n = estimates.preset_playlists(config["synthetic"]["preset"], config["synthetic"]["n_playlists"])
    return estimates.synthetic_runtime(n, attempt)


def io_mem_mb(wildcards, input, attempt):
    """Memory of the rules that read token lists (load, vocab, split, baseline, oracle), from their input."""
    return estimates.io_mem_mb(input.size_mb, attempt)


def io_runtime(wildcards, input, attempt):
    """Runtime of those rules and of the ensemble rule, from their input."""
    return estimates.io_runtime(input.size_mb, attempt)


def train_mem_mb(wildcards, input, attempt):
    """Memory of one training job: TensorFlow, one epoch's pairs and the embedding matrices."""
    dim, window = _hyperparameter(wildcards, "dim"), _hyperparameter(wildcards, "window")
    return estimates.train_mem_mb(_file_mb(input.train), _parquet_rows(input.vocab), dim, window, attempt)


def train_runtime(wildcards, input, attempt):
    """Runtime of one training job, relative to the rate at the defaults' dim and negatives."""
    return estimates.train_runtime(
        _file_mb(input.train),
        window=_hyperparameter(wildcards, "window"),
        epochs=_hyperparameter(wildcards, "epochs"),
        dim=_hyperparameter(wildcards, "dim"),
        negatives=_hyperparameter(wildcards, "negatives"),
        reference_dim=config["defaults"]["dim"],
        reference_negatives=config["defaults"]["negatives"],
        attempt=attempt,
    )


def ensemble_mem_mb(wildcards, input, attempt):
    """Memory of an ensemble job, from its members' embeddings."""
    return estimates.ensemble_mem_mb(sum(_file_mb(f) for f in input.members), attempt)


def evaluate_mem_mb(wildcards, input, attempt):
    """Memory of an evaluate job: its model, the training sequences and the search of the validation pairs."""
    return estimates.evaluate_mem_mb(*_scoring_inputs(input.model, input), _parquet_rows(input.pairs), attempt)


def evaluate_runtime(wildcards, input, attempt):
    """Runtime of an evaluate job, from the size of its model; with evaluate.context, once more
    per context decay it tries."""
    from track2vec.pipeline.evaluate import CONTEXT_DECAYS

    scorings = 1 if config["evaluate"]["context"] == "last" else 1 + len(CONTEXT_DECAYS)
    return estimates.evaluate_runtime(_file_mb(input.model), attempt, scorings)


def test_mem_mb(wildcards, input, attempt):
    """Memory of the test job: as an evaluate job on the test pairs with its largest model (it
    scores one at a time)."""
    n_pairs = _parquet_rows(input.pairs)
    return max(estimates.evaluate_mem_mb(*_scoring_inputs(f, input), n_pairs, attempt) for f in input.models)


def test_runtime(wildcards, input, attempt):
    """Runtime of the test and radio jobs: as an evaluate job on their largest model."""
    return estimates.evaluate_runtime(max(_file_mb(f) for f in input.models), attempt)


def _catalog_mb(input):
    """Size of what a radio job reads about the songs: the vocabulary, the metadata and (built-in
    dataset) the generator's genres."""
    return _file_mb(input.vocab) + sum(_file_mb(f) for f in [*input.metadata, *input.generator])


def radio_mem_mb(wildcards, input, attempt):
    """Memory of a radio job: the catalog (vocabulary, metadata, genres) and the largest model,
    searched one step at a time."""
    catalog_mb = _catalog_mb(input)
    return max(estimates.radio_mem_mb(*_scoring_inputs(f, input), catalog_mb, attempt) for f in input.models)


def radio_quality_mem_mb(wildcards, input, attempt):
    """Memory of the radio_quality job: as a scoring job that searches the walks of every
    quality seed together (one query each), and the catalog."""
    n = max(1, config["radio"]["quality_seeds"])
    search = max(estimates.evaluate_mem_mb(*_scoring_inputs(f, input), n, attempt) for f in input.models)
    return search + int(estimates.READ_GROWTH * _catalog_mb(input) * attempt) + 1


def small_mem_mb(wildcards, attempt):
    """Memory of the aggregating rules (aggregate, best, search): small tables only."""
    return estimates.small_mem_mb(attempt)


def small_runtime(wildcards, attempt):
    """Runtime of the aggregating rules (aggregate, best, search)."""
    return estimates.small_runtime(attempt)


def report_mem_mb(wildcards, input, attempt):
    """Memory of the report rule: matplotlib, the largest embedding it maps and the vocabulary."""
    largest = max([_file_mb(f) for f in input.embeddings], default=0.0)
    return estimates.report_mem_mb(largest, _file_mb(input.vocab), attempt)


def report_runtime(wildcards, attempt):
    """Runtime of the report rule (a few figures)."""
    return estimates.report_runtime(attempt)


def export_mem_mb(wildcards, input, attempt):
    """Memory of an export job: the largest model it may read, and the buffers of its files
    (as an ensemble job's, from that model's size)."""
    return estimates.ensemble_mem_mb(max([_file_mb(f) for f in input.models], default=0.0), attempt)


def export_runtime(wildcards, input, attempt):
    """Runtime of an export job, as a scoring job's on the largest model it may read."""
    return estimates.evaluate_runtime(max([_file_mb(f) for f in input.models], default=0.0), attempt)
