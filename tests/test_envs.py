"""envs/*.yaml repeat the pins of pyproject.toml: one source of truth, checked here."""

import re
import tomllib

import yaml

from conftest import ROOT


def pins(lines):
    out = {}
    for line in lines:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^;\s]+)", line.strip())
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def test_env_files_agree_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    main = pins(project["dependencies"])
    assert len(main) == len(project["dependencies"]), "every dependency in pyproject.toml is pinned with =="
    envs = sorted((ROOT / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
        env_pins = pins(pip)
        assert len(env_pins) == len(pip), f"{env.name}: every pip line is pinned"
        for name, version in env_pins.items():
            assert main.get(name) == version, f"{env.name}: {name}=={version} but pyproject pins {main.get(name)}"
