# Helpers and validation shared by all rules.
import os

from snakemake.exceptions import WorkflowError

from track2vec.config import grid_entries, validate_config
from track2vec.errors import ConfigError

try:
    _validated = validate_config(config, source="config.yaml (with --config overrides)")
except ConfigError as exc:
    raise WorkflowError(str(exc))
config.clear()
config.update(_validated)

# scripts import the track2vec package from this checkout, also inside conda envs
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")]))

RESULTS = config["results"]
ENTRIES = grid_entries(config)
SYNTHETIC = config["playlists"] == "synthetic"

if not SYNTHETIC and not os.path.exists(config["playlists"]):
    raise WorkflowError(
        f"config key 'playlists': file {config['playlists']!r} not found. Set it to an existing "
        ".npy, .csv or .parquet file (--config playlists=/path/to/music_2.npy), or to 'synthetic'."
    )


wildcard_constraints:
    entry="[A-Za-z0-9][A-Za-z0-9_.-]*",


def res(path):
    """A path under the results folder."""
    return f"{RESULTS}/{path}"


def playlists_file(wildcards):
    """The playlists file the load rule reads: the built-in dataset or the user's file."""
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


def final_outputs():
    return [res("grid.tsv"), res("best.json"), res("test_score.json")]
