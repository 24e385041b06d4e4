"""The project's style checks, run by the test suite (so by CI): ruff (lint and format),
snakefmt and Snakemake's own linter. Configured in pyproject.toml."""

import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SNAKEMAKE


def _tool(name):
    """The tool installed beside this Python (the test extra), else on the PATH."""
    here = shutil.which(name, path=str(sys.executable.rsplit("/", 1)[0])) or shutil.which(name)
    if here is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return here


def _run(cmd):
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return proc.returncode, (proc.stdout + proc.stderr)[-6000:]


def test_ruff_lint():
    code, out = _run([_tool("ruff"), "check", "."])
    assert code == 0, f"ruff check . found problems (fix them, or `ruff check --fix .`):\n{out}"


def test_ruff_format():
    code, out = _run([_tool("ruff"), "format", "--check", "."])
    assert code == 0, f"files are not formatted (run `ruff format .`):\n{out}"


def test_snakefmt():
    code, out = _run([_tool("snakefmt"), "--check", "."])
    assert code == 0, f"Snakefile or rules/*.smk not formatted (run `snakefmt .`):\n{out}"


def test_snakemake_lint():
    code, out = _run([*SNAKEMAKE, "--lint"])
    assert code == 0 and "Congratulations" in out, f"snakemake --lint:\n{out}"
