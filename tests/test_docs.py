"""The documentation agrees with the code and with itself.

Checked on the front page (README.md), every page of docs/, bench/README.md and
profiles/README.md ("the pages"):

* README.md has at most 200 lines and holds the same test command as ``.ci/run``;
* every default the pages quote equals config.yaml's (see the convention below);
* every relative link points to a file that exists, and a ``#section`` anchor to a
  heading of that file;
* docs/configuration.md mentions every key of the config schema;
* no page names an absolute path of one machine: the folder this checkout sits in, or a
  home folder.

Convention for quoted defaults
------------------------------
An inline code span of the form ```key: value``` states a current default, where
``key`` is a hyperparameter of config.yaml's ``defaults:`` (```negatives: 20```), a
top-level key (```min_count: 2```) or a dotted path into config.yaml
(```split.n_val: 10000```, ```grid.paper_music2.dim: 50``` for an entry's own
setting). The value is read with ``yaml.safe_load`` and must equal config.yaml's.
Any other value is written otherwise: as a flow mapping (```{negatives: 10}```, an
entry's or a variant's setting), as a ``--config`` override (```oracle=false```), or
in prose ("10 negatives"). Code spans whose key is not a config key (```executor:
slurm```) and fenced code blocks are not checked.

These tests read files only: no subprocess, no pipeline run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"
FOLDER_PAGES = [ROOT / "bench" / "README.md", ROOT / "profiles" / "README.md"]
PAGES = sorted([README, *FOLDER_PAGES, *DOCS.glob("*.md")])
MAX_README_LINES = 200
#: at least this many quoted defaults must be found, so that the check cannot pass on nothing
MIN_QUOTED_DEFAULTS = 20
#: hyperparameters whose defaults the front page must quote
FRONT_PAGE_DEFAULTS = {
    "dim",
    "window",
    "negatives",
    "ns_exponent",
    "subsample",
    "epochs",
    "tied",
    "artist_vectors",
    "popularity_prior",
}

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.DOTALL | re.MULTILINE)
_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_KEY_VALUE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*): (.+)$")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_MISSING = object()


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _prose(path: Path) -> str:
    """The page without its fenced code blocks."""
    return _FENCE.sub("", _text(path))


def _config() -> dict:
    return yaml.safe_load(_text(ROOT / "config.yaml"))


def _lookup(config: dict, key: str):
    """config.yaml's value for a quoted key (see the module docstring), or _MISSING."""
    parts = key.split(".")
    if len(parts) == 1 and key in config["defaults"]:
        return config["defaults"][key]
    node = config
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _same(quoted, actual) -> bool:
    if isinstance(quoted, str) and not isinstance(actual, str):
        try:  # YAML reads 1e-3 (without a dot) as text
            quoted = float(quoted)
        except ValueError:
            return False
    if isinstance(quoted, bool) or isinstance(actual, bool):
        return quoted is actual
    if isinstance(quoted, (int, float)) and isinstance(actual, (int, float)):
        return float(quoted) == float(actual)
    return quoted == actual


def _quoted_defaults(path: Path, config: dict) -> list[tuple[str, str, object]]:
    """(key, value as written, config.yaml's value) of every quoted default of a page."""
    found = []
    for span in _SPAN.findall(_prose(path)):
        m = _KEY_VALUE.match(span.strip())
        if not m:
            continue
        actual = _lookup(config, m.group(1))
        if actual is not _MISSING:
            found.append((m.group(1), m.group(2), actual))
    return found


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", _prose(path), re.MULTILINE)}


def test_pages_exist():
    for page in PAGES:
        assert page.is_file(), f"{page.relative_to(ROOT)} is missing"
    assert len([p for p in PAGES if p.parent == DOCS]) >= 5


def test_readme_is_a_front_page():
    n = len(_text(README).splitlines())
    assert n <= MAX_README_LINES, f"README.md has {n} lines, more than {MAX_README_LINES}"


def test_readme_and_ci_run_the_same_tests():
    command = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/pytest"
    assert command in _text(README)
    ci = ROOT / ".ci" / "run"
    if ci.is_file():
        assert command in _text(ci).splitlines()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_quoted_defaults_agree_with_config(page):
    config = _config()
    wrong = [
        f"`{key}: {value}` (config.yaml: {actual!r})"
        for key, value, actual in _quoted_defaults(page, config)
        if not _same(yaml.safe_load(value), actual)
    ]
    assert not wrong, f"{page.relative_to(ROOT)}: not config.yaml's defaults: {wrong}"


def test_enough_defaults_are_quoted():
    config = _config()
    readme = _quoted_defaults(README, config)
    both = readme + _quoted_defaults(CONFIGURATION, config)
    assert len(both) >= MIN_QUOTED_DEFAULTS, f"only {len(both)} quoted defaults found"
    missing = FRONT_PAGE_DEFAULTS - {key for key, _, _ in readme}
    assert not missing, f"README.md does not quote the defaults of {sorted(missing)}"


def test_the_checks_see_a_wrong_default():
    config = _config()
    key, actual = "negatives", config["defaults"]["negatives"]
    assert _lookup(config, key) == actual
    assert not _same(yaml.safe_load(str(actual + 1)), actual)
    assert _same(yaml.safe_load("1e-3"), 1.0e-3) and _same(yaml.safe_load("true"), True)
    assert not _same(yaml.safe_load("1"), True)
    assert _lookup(config, "split.n_val") == config["split"]["n_val"]
    assert _lookup(config, "no_such_key") is _MISSING
    assert _KEY_VALUE.match("{negatives: 10}") is None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for target in _LINK.findall(_prose(page)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


def test_configuration_mentions_every_key():
    schema = yaml.safe_load(_text(ROOT / "track2vec" / "schemas" / "config.schema.yaml"))
    text = _prose(CONFIGURATION)
    spans = set(_SPAN.findall(text))
    missing = []
    for key, spec in schema["properties"].items():
        if not any(re.match(rf"^{re.escape(key)}\b", s) for s in spans):
            missing.append(key)
        for sub in spec.get("properties", {}):
            if f"{key}.{sub}" not in text:
                missing.append(f"{key}.{sub}")
    for key in schema["definitions"]["hyperparameters"]["properties"]:
        if not any(re.match(rf"^{re.escape(key)}\b", s) for s in spans):
            missing.append(key)
    assert not missing, f"docs/configuration.md does not mention {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_machine_paths(page):
    text = _text(page)
    parent = str(ROOT.resolve().parent)
    machine = ([parent + "/"] if parent != "/" else []) + ["/home/", "/root/", "/Users/"]
    for path in machine:
        assert path not in text, f"{page.relative_to(ROOT)} names {path}: use a relative path"
