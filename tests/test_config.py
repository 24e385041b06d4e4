import pytest
import yaml

from conftest import ROOT
from track2vec.config import HYPERPARAMETERS, grid_entries, load_config, validate_config
from track2vec.errors import ConfigError


def base():
    return {
        "playlists": "synthetic",
        "defaults": {
            "dim": 8,
            "window": 2,
            "negatives": 3,
            "ns_exponent": 0.5,
            "subsample": 0.0,
            "epochs": 1,
            "learning_rate": 0.025,
            "batch_size": 64,
            "tied": False,
            "seed": 1,
        },
        "grid": {"a": {"dim": 16}, "b": None},
    }


def test_shipped_configs_are_valid():
    for name in ("config.yaml", "tests/tiny.yaml"):
        cfg = (
            load_config(ROOT / name)
            if name == "config.yaml"
            else validate_config({**yaml.safe_load(open(ROOT / "config.yaml")), **yaml.safe_load(open(ROOT / name))})
        )
        assert cfg["grid"]


def test_default_grid_has_reference_entries():
    cfg = load_config(ROOT / "config.yaml")
    entries = grid_entries(cfg)
    # the baselines, the published settings and the defaults; no ensemble (two more trainings)
    assert set(entries) == {
        "popularity",
        "cooccurrence",
        "cooccurrence_window_1",
        "seed_reference",
        "paper_music2",
        "gensim_defaults",
        "tuned",
    }
    assert all(e.get("ensemble", 1) == 1 and not e.get("ensemble_windows") for e in entries.values())
    ref = entries["seed_reference"]
    assert (ref["dim"], ref["window"], ref["negatives"], ref["ns_exponent"], ref["subsample"], ref["tied"]) == (
        30,
        3,
        5,
        0.5,
        1e-5,
        True,
    )
    paper = entries["paper_music2"]
    assert (paper["window"], paper["ns_exponent"], paper["subsample"], paper["dim"]) == (3, -0.5, 1e-5, 50)


def test_defaults_filled_and_entries_merged():
    cfg = validate_config(base())
    assert cfg["min_count"] == 2 and cfg["evaluate"]["k"] == 10 and cfg["split"]["n_val"] == 10000
    e = grid_entries(cfg)
    assert list(e) == ["a", "b"]
    assert e["a"]["dim"] == 16 and e["b"]["dim"] == 8
    assert list(e["a"]) == list(HYPERPARAMETERS)
    assert e["a"]["artist_vectors"] is True and e["a"]["popularity_prior"] == "auto"  # optional: config.yaml's


def _config_yaml():
    with open(ROOT / "config.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def test_optional_defaults_are_config_yamls():
    """config.yaml's `defaults:` are the one source: OPTIONAL_DEFAULTS repeats some of them for
    configurations without config.yaml, and must agree."""
    from track2vec.config import OPTIONAL_DEFAULTS

    shipped = _config_yaml()["defaults"]
    assert set(OPTIONAL_DEFAULTS) <= set(HYPERPARAMETERS)
    assert {h: shipped[h] for h in OPTIONAL_DEFAULTS} == OPTIONAL_DEFAULTS


def _schema_defaults(schema, path=()):
    """(path, default) of every `default:` in the schema's properties, recursively."""
    for name, sub in schema.get("properties", {}).items():
        if "default" in sub:
            yield (*path, name), sub["default"]
        yield from _schema_defaults(sub, (*path, name))


def test_schema_defaults_are_config_yamls():
    """The schema fills in keys a configuration leaves out; its values are config.yaml's."""
    from track2vec.config import load_schema

    shipped = _config_yaml()
    found = list(_schema_defaults(load_schema()))
    assert len(found) >= 20
    for path, default in found:
        value = shipped
        for key in path:
            value = value[key] if isinstance(value, dict) and key in value else {}
        if (
            path[-1] in ("synthetic", "split", "evaluate", "best", "train", "radio", "report", "export", "search")
            and default == {}
        ):
            continue  # an object filled in key by key
        assert value == default, f"schema default of {'.'.join(path)} is {default!r}, config.yaml says {value!r}"


def test_schema_names_are_track2vec_names():
    """Method names and the entry-name pattern come from track2vec.names."""
    from track2vec import names
    from track2vec.config import load_schema

    schema = load_schema()
    assert schema["definitions"]["hyperparameters"]["properties"]["method"]["enum"] == list(names.METHODS)
    assert schema["properties"]["grid"]["propertyNames"]["pattern"] == f"^{names.ENTRY_PATTERN}$"


def test_shipped_defaults_use_artist_vectors_but_the_papers_entries_do_not():
    entries = grid_entries(load_config(ROOT / "config.yaml"))
    assert entries["tuned"]["artist_vectors"] is True
    assert not any(entries[n]["artist_vectors"] for n in ("seed_reference", "paper_music2", "gensim_defaults"))


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda c: c.update(foo=1), "(top level)"),
        (lambda c: c["grid"]["a"].update(windw=3), "grid.a"),
        (lambda c: c["grid"]["a"].update(window=-1), "grid.a.window"),
        (lambda c: c["grid"]["a"].update(dim="big"), "grid.a.dim"),
        (lambda c: c.update(grid={}), "grid"),
        (lambda c: c["grid"].update({"../evil": {}}), "grid"),
        (lambda c: c.update(min_count=0), "min_count"),
        (lambda c: c.update(evaluate={"metric": "manhattan"}), "evaluate.metric"),
        (lambda c: c["defaults"].pop("dim"), "defaults"),
        (lambda c: c["grid"]["a"].update(artist_vectors="sometimes"), "grid.a.artist_vectors"),
    ],
)
def test_errors_name_the_key(change, key):
    cfg = base()
    change(cfg)
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    assert f"'{key}'" in str(err.value)


def test_command_line_strings_read_as_yaml():
    """`snakemake --config oracle=false best='{embeddings_only: true}'` passes strings; where the
    schema takes no string they are read as YAML, and what still does not fit is refused."""
    cfg = base()
    cfg.update(oracle="false", best="{embeddings_only: true}", replicates="3", cold_start="[0, 1]", playlists="true")
    out = validate_config(cfg)
    assert out["oracle"] is False and out["best"]["embeddings_only"] is True and out["best"]["metric"] == "hr_at_k"
    assert out["replicates"] == 3 and out["cold_start"] == [0, 1]
    assert out["playlists"] == "true"  # a path: strings stay strings
    cfg["oracle"] = "maybe"
    with pytest.raises(ConfigError, match="'oracle'"):
        validate_config(cfg)


def test_nested_command_line_values_read_as_yaml():
    """Below the top level Snakemake hands over every scalar as a string (YAML's base loader):
    `--config grid='{a: {dim: 16}}'` gives {'dim': '16'}. Each is read as YAML where its schema
    (through $ref, anyOf, patterns and list items) does not take the string."""
    from snakemake.cli import parse_config

    given = parse_config(
        [
            "grid={a: {dim: 16, tied: true, ensemble_windows: [2, 1], popularity_prior: auto}, "
            "b: {popularity_prior: 0.01}}",
            "defaults={dim: 8, window: 2, negatives: 3, ns_exponent: -0.5, subsample: 0, epochs: 1, "
            "learning_rate: 0.025, batch_size: 64, tied: false, seed: 1}",
            "search={enabled: true, ranges: {window: [1, 4], subsample: {choices: [0.001, 0.01]}}}",
            "radio={seeds: [123, Some Title]}",
            "cold_start=[0, 2]",
        ]
    )
    assert given["grid"]["a"]["dim"] == "16" and given["cold_start"] == ["0", "2"]  # what Snakemake passes
    out = validate_config({"playlists": "synthetic", **given})
    a, b = out["grid"]["a"], out["grid"]["b"]
    assert (a["dim"], a["tied"], a["ensemble_windows"], a["popularity_prior"]) == (16, True, [2, 1], "auto")
    assert b["popularity_prior"] == 0.01 and out["defaults"]["ns_exponent"] == -0.5 and out["defaults"]["tied"] is False
    assert out["search"]["ranges"] == {"window": [1, 4], "subsample": {"choices": [0.001, 0.01]}}
    assert out["radio"]["seeds"] == ["123", "Some Title"] and out["cold_start"] == [0, 2]  # titles and ids stay strings
    entries = grid_entries(out)
    assert entries["a"]["ensemble"] == 2 and entries["b"]["dim"] == 8


def test_ensemble_windows_set_the_members():
    cfg = base()
    cfg["grid"]["a"].update(ensemble_windows=[3, 1, 5])
    e = grid_entries(validate_config(cfg))
    assert e["a"]["ensemble"] == 3 and e["b"]["ensemble"] == 1 and e["b"]["ensemble_windows"] is None
    cfg["grid"]["a"]["ensemble"] = 2
    with pytest.raises(ConfigError, match="'grid.a.ensemble' is 2 but 'ensemble_windows' lists 3 windows"):
        grid_entries(validate_config(cfg))
    cfg["grid"]["a"].update(ensemble=1, ensemble_windows=[3])
    with pytest.raises(ConfigError, match="'grid.a.ensemble_windows'"):
        validate_config(cfg)
