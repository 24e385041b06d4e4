"""track2vec.codedeps: the code each rule runs, and digests that change only with behaviour."""

import textwrap

import pytest

from conftest import ROOT
from track2vec.codedeps import CodeIndex, code_digest, imports_of

SOURCE = textwrap.dedent(
    '''
    """A module."""
    import numpy as np


    def f(x):
        """Double it."""
        # a comment
        return 2 * x
    '''
)


def test_digest_ignores_docstrings_comments_and_formatting():
    cosmetic = SOURCE.replace('"""Double it."""', '"""Twice x, documented at length."""').replace(
        "# a comment", "# another comment\n\n"
    )
    cosmetic = cosmetic.replace("return 2 * x", "return (2\n            * x)")
    assert code_digest(cosmetic) == code_digest(SOURCE)
    assert code_digest(SOURCE.replace('"""A module."""', "")) == code_digest(SOURCE)
    assert len(code_digest(SOURCE)) == 12


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.replace("2 * x", "3 * x"),
        lambda s: s.replace("import numpy as np", "import numpy"),
        lambda s: s + "\nY = 1\n",
        lambda s: s.replace('"""Double it."""', '"""Double it."""\n    x = x'),
    ],
)
def test_digest_changes_with_the_code(edit):
    assert code_digest(edit(SOURCE)) != code_digest(SOURCE)


def test_imports_are_resolved_at_any_depth_but_not_in_getattr_hooks():
    source = textwrap.dedent(
        """
        import os.path
        from . import sibling
        from ..io import read_json
        from .. import report as rep


        def step():
            from ..train import train


        def __getattr__(name):
            from .lazy import Thing
        """
    )
    found = imports_of(source, "pkg.pipeline.step")
    assert {
        "os.path",
        "pkg.pipeline",
        "pkg.pipeline.sibling",
        "pkg.io",
        "pkg.io.read_json",
        "pkg",
        "pkg.report",
        "pkg.train",
        "pkg.train.train",
    } <= found
    assert not any("lazy" in name for name in found)
    assert "pkg.pipeline.x" in imports_of("from . import x", "pkg.pipeline", is_package=True)


@pytest.fixture
def package(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("def __getattr__(name):\n    from .api import Api\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "api.py").write_text("from .core import run\n")
    (pkg / "core.py").write_text("import json\n\n\ndef run():\n    from . import sub\n")
    (pkg / "sub" / "helper.py").write_text("X = 1\n")
    (pkg / "sub" / "other.py").write_text("X = 2\n")
    script = tmp_path / "script.py"
    script.write_text("from pkg.core import run\n")
    return pkg, script


def test_modules_of_a_script_follow_the_package_imports(package):
    pkg, script = package
    index = CodeIndex(pkg)
    assert index.modules_of(script) == ["pkg", "pkg.core", "pkg.sub"]
    (pkg / "sub" / "__init__.py").write_text("from . import helper\n")
    assert CodeIndex(pkg).modules_of(script) == ["pkg", "pkg.core", "pkg.sub", "pkg.sub.helper"]


def test_params_name_each_file_with_its_digest(package):
    pkg, script = package
    params = CodeIndex(pkg).params(script, label="scripts/script.py")
    assert list(params) == ["code_00", "code_01", "code_02", "code_03"]
    assert params["code_00"].startswith("scripts/script.py ")
    assert [v.split()[0] for v in params.values()][1:] == ["pkg/__init__.py", "pkg/core.py", "pkg/sub/__init__.py"]
    before = dict(params)
    (pkg / "core.py").write_text("import json\n\n\ndef run():\n    from . import sub\n    return 1\n")
    after = CodeIndex(pkg).params(script, label="scripts/script.py")
    assert {k for k in before if before[k] != after[k]} == {"code_02"}
    with pytest.raises(FileNotFoundError, match="not a Python package"):
        CodeIndex(pkg / "sub" / "nowhere")


def test_each_rule_runs_only_the_library_code_it_needs():
    """The steps import what they run, so an edit re-runs the rules that run it: training does
    not depend on the search or the metrics, the baselines not on the trainer, and only the
    radio rules on the radio."""
    index = CodeIndex(ROOT / "track2vec")
    runs = {s.stem: set(index.modules_of(s)) for s in sorted((ROOT / "scripts").glob("*.py"))}
    assert len(runs) >= 15 and all("track2vec.scripting" in m for m in runs.values())
    assert not {"track2vec.knn", "track2vec.metrics", "track2vec.radio"} & runs["train"]
    assert "track2vec.train" in runs["train"] and "track2vec.train" not in runs["baseline"]
    assert [rule for rule, mods in runs.items() if "track2vec.train" in mods] == ["train"]
    assert [rule for rule, mods in runs.items() if "track2vec.radio" in mods] == ["radio", "radio_quality"]
    assert {rule for rule, mods in runs.items() if "track2vec.metrics" in mods} == {"evaluate", "oracle", "test"}
