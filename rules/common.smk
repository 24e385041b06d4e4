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
