# Helpers and validation shared by all rules.
import os

from snakemake.exceptions import WorkflowError

from track2vec.config import check_config_file, grid_entries, replace_grid, validate_config
from track2vec.errors import ConfigError

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


def final_outputs():
    return [res("grid.tsv"), res("best.json"), res("test_score.json")]
