"""Configuration: validation against the JSON schema, and the grid of training entries."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

import jsonschema
import yaml

from .errors import ConfigError
from .names import EMBEDDING, ORACLE

__all__ = [
    "HYPERPARAMETERS",
    "OPTIONAL_DEFAULTS",
    "TRAINING",
    "load_schema",
    "validate_config",
    "grid_entries",
    "load_config",
    "replace_grid",
    "check_config_file",
]

#: the hyperparameters of a grid entry, in the order of the grid table's columns
HYPERPARAMETERS = (
    "method",
    "dim",
    "window",
    "negatives",
    "ns_exponent",
    "subsample",
    "epochs",
    "learning_rate",
    "min_learning_rate",
    "batch_size",
    "tied",
    "artist_vectors",
    "seed",
    "ensemble",
    "ensemble_windows",
    "popularity_prior",
    "context_decay",
)

#: the hyperparameters that ``defaults`` may leave out, and the value they then take: config.yaml's
#: (tests/test_config.py checks that they agree)
OPTIONAL_DEFAULTS = {
    "min_learning_rate": 0.0001,
    "method": EMBEDDING,
    "ensemble": 1,
    "ensemble_windows": None,
    "popularity_prior": "auto",
    "artist_vectors": True,
    "context_decay": "auto",
}

#: the hyperparameters that choose the method or score the suggestions, not how a model trains
NOT_TRAINING = ("method", "ensemble", "ensemble_windows", "popularity_prior", "context_decay")
#: the hyperparameters of training
TRAINING = tuple(h for h in HYPERPARAMETERS if h not in NOT_TRAINING)


def load_schema() -> dict:
    """The JSON schema of config.yaml (``track2vec/schemas/config.schema.yaml``)."""
    text = resources.files("track2vec").joinpath("schemas/config.schema.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _fill_defaults(schema: dict, config: dict) -> None:
    """Set the schema's ``default`` values for missing keys, recursively (objects only)."""
    for name, sub in schema.get("properties", {}).items():
        if name not in config and "default" in sub:
            config[name] = copy.deepcopy(sub["default"])
        if isinstance(config.get(name), dict) and sub.get("type") == "object":
            _fill_defaults(sub, config[name])


def _subschemas(schema: dict, root: dict) -> list[dict]:
    """``schema`` with its local ``$ref`` resolved, and the alternatives it allows
    (``allOf`` / ``anyOf`` / ``oneOf`` parts, resolved too)."""
    ref = schema.get("$ref")
    if ref is not None:
        target = root
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        return _subschemas(target, root)
    out = [schema]
    for key in ("allOf", "anyOf", "oneOf"):
        for alt in schema.get(key, []):
            out += _subschemas(alt, root)
    return out


def _valid(value, schemas: list[dict]) -> bool:
    """Whether ``value`` is valid under one of these (resolved) schemas, judged by the
    ones that name a type or a constant."""
    typed = [s for s in schemas if "type" in s or "const" in s or "enum" in s]
    return any(jsonschema.Draft202012Validator(s).is_valid(value) for s in typed) if typed else True


def _coerce(schema: dict, value, root: dict):
    """``value`` with the strings its schema does not take read as YAML, recursively.

    ``snakemake --config`` reads every value below the top level as a string (YAML's
    base loader): ``oracle=false``, ``best='{embeddings_only: true}'`` and
    ``grid='{tuned: {dim: 128}}'`` hand over 'false', 'true' and '128'. Read as YAML they
    are what the user meant. A string that the schema takes (a path, ``auto``), or that
    does not parse, stays as it is, for the validator to name.
    """
    schemas = _subschemas(schema, root)
    if isinstance(value, str):
        if _valid(value, schemas):
            return value
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        return value if isinstance(parsed, str) else _coerce(schema, parsed, root)
    if isinstance(value, dict):
        for key in list(value):
            for s in schemas:
                sub = s.get("properties", {}).get(key)
                if sub is None:
                    sub = next(
                        (p for pat, p in s.get("patternProperties", {}).items() if re.search(pat, str(key))), None
                    )
                if sub is None and isinstance(s.get("additionalProperties"), dict):
                    sub = s["additionalProperties"]
                if sub is not None:
                    value[key] = _coerce(sub, value[key], root)
                    break
    elif isinstance(value, list):
        items = next((s["items"] for s in schemas if isinstance(s.get("items"), dict)), None)
        if items is not None:
            value[:] = [_coerce(items, v, root) for v in value]
    return value


def validate_config(config: dict, source: str = "config.yaml") -> dict:
    """Validate a configuration and return a copy with defaults filled in.

    Parameters
    ----------
    config : dict
        The parsed config.yaml (with any ``--config`` overrides).
    source : str
        Named in error messages.

    Returns
    -------
    dict

    Raises
    ------
    ConfigError
        The message names the key, what is wrong and how to fix it.
    """
    if not isinstance(config, dict):
        raise ConfigError(
            f"{source}: the configuration must be a mapping of keys to values, got {type(config).__name__}"
        )
    config = copy.deepcopy(config)
    schema = load_schema()
    _coerce(schema, config, schema)
    _fill_defaults(schema, config)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(
        validator.iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path)))
    )
    if errors:
        lines = []
        for err in errors[:10]:
            key = _key(err.absolute_path)
            if err.validator == "additionalProperties":
                known = sorted(err.schema.get("properties", {}))
                msg = f"{err.message}; known keys here: {', '.join(known)}" if known else err.message
            elif "propertyNames" in err.schema_path:
                msg = (
                    f"grid entry name {err.instance!r} is not safe as a file name: use letters, digits, "
                    "'_', '-' and '.', starting with a letter or digit, at most 64 characters"
                )
            else:
                msg = err.message
            lines.append(f"  - config key '{key}': {msg}")
        raise ConfigError(f"{source} is invalid ({len(errors)} problem(s)); fix these keys:\n" + "\n".join(lines))
    for name, entry in config["grid"].items():
        if entry is None:
            config["grid"][name] = {}
        if name == ORACLE:
            raise ConfigError(
                f"{source}: config key 'grid.{ORACLE}': the name `{ORACLE}` is reserved for the best achievable "
                "score's row; rename the entry"
            )
    missing = [h for h in HYPERPARAMETERS if h not in config["defaults"] and h not in OPTIONAL_DEFAULTS]
    if missing:
        raise ConfigError(
            f"{source}: config key 'defaults' lacks {', '.join(missing)}; give every hyperparameter a default"
        )
    for h, value in OPTIONAL_DEFAULTS.items():
        config["defaults"].setdefault(h, value)
    return config


def grid_entries(config: dict, search: bool = True) -> dict[str, dict[str, Any]]:
    """The full hyperparameters of each grid entry (``defaults`` overridden by the entry),
    followed by the random-search trials ``search_01``... when ``search.enabled``.

    Parameters
    ----------
    config : dict
        A validated configuration.

    Returns
    -------
    dict
        Entry name -> {hyperparameter: value}, keys in :data:`HYPERPARAMETERS` order.
    """
    from .grid import search_trials

    grid = dict(config["grid"])
    if search and config.get("search", {}).get("enabled"):
        clash = [n for n in search_trials(config["search"], config["defaults"]) if n in grid]
        if clash:
            raise ConfigError(f"config key 'grid': entries {clash} clash with the search trials' names; rename them")
        grid.update(
            {n: {**t, "method": EMBEDDING} for n, t in search_trials(config["search"], config["defaults"]).items()}
        )
    out = {}
    for name, entry in grid.items():
        merged = {**config["defaults"], **(entry or {})}
        out[name] = {h: merged[h] for h in HYPERPARAMETERS}
        _check_ensemble_windows(name, out[name], entry or {})
    return out


def _check_ensemble_windows(name: str, hp: dict, entry: Mapping) -> None:
    """``ensemble_windows: [w1, ..., wM]`` makes an sgns entry an ensemble of M members
    (member i trained with window wi): set ``ensemble`` to M, or refuse another M."""
    windows = hp.get("ensemble_windows")
    if windows is None or hp.get("method", EMBEDDING) != EMBEDDING:
        return
    if hp["ensemble"] not in (1, len(windows)):
        where = f"grid.{name}" if "ensemble" in entry else "defaults"
        raise ConfigError(
            f"config key '{where}.ensemble' is {hp['ensemble']} but 'ensemble_windows' lists {len(windows)} windows "
            f"({', '.join(map(str, windows))}) for entry {name!r}: give one window per member, or drop 'ensemble' "
            "(ensemble_windows alone sets the number of members)"
        )
    hp["ensemble"] = len(windows)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (YAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(
                    f"key {key!r} is given twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1}); "
                    "YAML would keep only the last one: rename or remove one of them"
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def check_config_file(path) -> dict:
    """Parse a YAML config file strictly: valid YAML, a mapping, no key given twice.

    Raises
    ------
    ConfigError
        The message names the file and the problem.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping of keys to values, got {type(data).__name__}")
    return data or {}


def load_config(path: str) -> dict:
    """Read and validate a YAML configuration file."""
    return validate_config(check_config_file(path), source=str(path))


def replace_grid(config: dict, configfiles, overrides: dict | None = None) -> dict:
    """Make a ``grid:`` given in a ``--configfile`` replace config.yaml's grid.

    Snakemake merges nested mappings of config files, which would add the entries of
    ``tests/tiny.yaml`` to the ten default ones. A grid is a list of experiments, so
    the last ``--configfile`` that defines ``grid:`` replaces it whole; ``--config``
    overrides still apply on top.

    Parameters
    ----------
    config : dict
        The merged configuration, changed in place.
    configfiles : sequence of path
        The ``--configfile`` files, in command-line order.
    overrides : dict, optional
        The ``--config`` key=value overrides.

    Returns
    -------
    dict
        ``config``.
    """
    for path in configfiles or ():
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        if isinstance(data, dict) and isinstance(data.get("grid"), dict):
            config["grid"] = copy.deepcopy(data["grid"])
    extra = (overrides or {}).get("grid")
    if isinstance(extra, dict) and isinstance(config.get("grid"), dict):
        for name, entry in extra.items():
            if isinstance(entry, dict) and isinstance(config["grid"].get(name), dict):
                config["grid"][name].update(entry)
            else:
                config["grid"][name] = entry
    return config
