"""Partial re-runs on the tiny preset: after a complete run, an edit re-runs exactly what it touches.

The workflow (Snakefile, rules/, scripts/, envs/, profiles/, config.yaml) and the package
(track2vec/) are copied into a temporary folder, so that editing a script or a module there leaves
the repository alone. The copy's Snakefile reads the copied package (its folder comes first on the
import path), so its digests of the code each rule runs follow the edits; the jobs themselves run
the installed package, which a dry run never does. One complete run of the tiny preset is shared by every case;
a case that runs jobs or edits files works on its own copy of that folder (results, and
Snakemake's metadata in ``.snakemake/``, copied with their modification times).

Each case is asserted on the jobs a dry run (``snakemake -n``) plans: the job table, and each
job's rule and ``{entry}`` wildcard.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT

pytestmark = pytest.mark.workflow

SNAKEMAKE_LIMIT_S = 600
ENTRIES = ("seed_reference", "paper_music2", "window_1")
BASELINES = ("popularity", "cooccurrence")  # counted from the training split, scored by evaluate
# after any evaluate job: the grid table, the best entry, its test score, the radios of the
# two seeds of tests/tiny.yaml and their quality table (from the best entry), the best entry's
# export and the report's figures
AFTER_EVAL = {
    ("aggregate", None): 1,
    ("best", None): 1,
    ("test", None): 1,
    ("radio", None): 2,
    ("radio_quality", None): 1,
    ("export", "best"): 1,
    ("report", None): 1,
}


def _copy_workflow(dest: Path) -> Path:
    dest.mkdir()
    shutil.copy2(ROOT / "Snakefile", dest)
    shutil.copy2(ROOT / "config.yaml", dest)
    shutil.copy2(ROOT / "tests" / "tiny.yaml", dest)
    for folder in ("rules", "envs", "profiles"):
        shutil.copytree(ROOT / folder, dest / folder)
    shutil.copytree(ROOT / "track2vec", dest / "track2vec", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "scripts").mkdir()
    for script in (ROOT / "scripts").glob("*.py"):
        shutil.copy2(script, dest / "scripts")
    (dest / "scripts" / "track2vec").symlink_to("../track2vec", target_is_directory=True)
    return dest


def _cmd(wf: Path, *args: str) -> list[str]:
    return [
        "timeout",
        "-k",
        "30",
        str(SNAKEMAKE_LIMIT_S),
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(wf / "Snakefile"),
        "--directory",
        str(wf),
        "--cores",
        "2",
        *args,
    ]


def _snakemake(wf: Path, *args: str) -> str:
    proc = subprocess.run(_cmd(wf, *args), capture_output=True, text=True, timeout=SNAKEMAKE_LIMIT_S + 60)
    if proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-5000:]}")
    return proc.stdout + proc.stderr


def _config(wf: Path, name: str, edit=None) -> str:
    """A modified copy of the tiny preset's config file; its path."""
    cfg = yaml.safe_load((wf / "tiny.yaml").read_text())
    if edit:
        edit(cfg)
    path = wf / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return str(path)


def planned(wf: Path, configfile: str = "tiny.yaml", *extra: str, reasons: set | None = None) -> collections.Counter:
    """The jobs a dry run plans, as a Counter of (rule, entry wildcard or None); `all` left out.

    Read from each job's block (``rule X:`` ... ``wildcards: entry=...``) and checked against
    the job table of the dry run. ``reasons``, if given, receives (rule, reason) pairs.
    """
    out = _snakemake(wf, "-n", "--configfile", str(wf / configfile), *extra)
    if "Nothing to be done" in out:
        return collections.Counter()
    jobs = collections.Counter()
    for block in re.split(r"\n(?=\[[^\]]+\]\n)", out):
        m = re.search(r"^(?:local)?rule (\w+):$", block, re.M)
        if not m or m.group(1) == "all":
            continue
        wc = re.search(r"^\s+wildcards: .*\bentry=([^,\s]+)", block, re.M)
        jobs[(m.group(1), wc.group(1) if wc else None)] += 1
        if reasons is not None:
            reasons.update((m.group(1), r) for r in re.findall(r"^\s+reason: (.*)$", block, re.M))
    table = dict(re.findall(r"^(\w+)\s+(\d+)$", out.split("Job stats:", 1)[1].split("\n\n", 1)[0], re.M))
    table.pop("total", None)
    table.pop("all", None)
    per_rule = collections.Counter()
    for (rule, _), n in jobs.items():
        per_rule[rule] += n
    assert per_rule == {r: int(n) for r, n in table.items()}, f"job blocks {jobs} disagree with the job table {table}"
    return jobs


def _all(rule: str) -> dict:
    return {(rule, e): 1 for e in ENTRIES}


def _baselines(rule: str) -> dict:
    return {(rule, e): 1 for e in BASELINES}


@pytest.fixture(scope="module")
def complete(tmp_path_factory) -> Path:
    """A workflow copy after one complete run of the tiny preset."""
    wf = _copy_workflow(tmp_path_factory.mktemp("rerun") / "wf")
    _snakemake(wf, "--configfile", str(wf / "tiny.yaml"))
    assert (wf / "results" / "tiny" / "test_score.json").exists()
    return wf


@pytest.fixture
def own_copy(complete, tmp_path) -> Path:
    """A copy of the completed folder (results and .snakemake metadata, times kept) for one case."""
    wf = tmp_path / "wf"
    shutil.copytree(complete, wf, symlinks=True)
    return wf


def test_a_second_run_has_nothing_to_do(complete):
    assert planned(complete) == {}


def test_b_changed_hyperparameter_reruns_only_that_entry(complete):
    cfg = _config(complete, "b_window", lambda c: c["grid"]["window_1"].update(window=2))
    assert planned(complete, cfg) == {("train", "window_1"): 1, ("evaluate", "window_1"): 1, **AFTER_EVAL}


def test_b2_changed_popularity_prior_reruns_its_evaluation_not_its_training(complete):
    cfg = _config(complete, "b2_prior", lambda c: c["grid"]["window_1"].update(popularity_prior=0.5))
    assert planned(complete, cfg) == {("evaluate", "window_1"): 1, **AFTER_EVAL}


def test_c_new_grid_entry_runs_only_its_jobs(complete):
    cfg = _config(complete, "c_new", lambda c: c["grid"].update(dim_8={"dim": 8}))
    assert planned(complete, cfg) == {("train", "dim_8"): 1, ("evaluate", "dim_8"): 1, **AFTER_EVAL}


def test_d_min_count_reruns_everything_from_vocab_on(complete):
    cfg = _config(complete, "d_min_count", lambda c: c.update(min_count=3))
    assert planned(complete, cfg) == {
        ("vocab", None): 1,
        ("split", None): 1,
        ("oracle", None): 1,
        **_all("train"),
        **_baselines("baseline"),
        **_all("evaluate"),
        **_baselines("evaluate"),
        **AFTER_EVAL,
    }


def test_e_edited_evaluate_script_reruns_evaluate_and_what_follows(own_copy):
    wf = own_copy
    script = wf / "scripts" / "evaluate.py"
    assert not script.is_symlink() and ROOT not in script.resolve().parents
    original = script.read_text()
    # a cosmetic edit (docstring, comment, blank line) changes nothing the script does
    script.write_text(original.replace('"""Rule evaluate:', '"""Rule evaluate (edited):') + "\n# a comment\n")
    assert planned(wf) == {}
    # an edit of what it does re-runs its jobs and what follows, and the reason names the script
    script.write_text(original.replace("def main(smk, log):", "EDITED = True\n\n\ndef main(smk, log):"))
    reasons = set()
    assert planned(wf, reasons=reasons) == {**_all("evaluate"), **_baselines("evaluate"), **AFTER_EVAL}
    (reason,) = {r for rule, r in reasons if rule == "evaluate"}
    assert reason.startswith("Params have changed") and reason.count("scripts/evaluate.py") == 2
    assert "track2vec/" not in reason
    # undoing the edit undoes the re-run: the code is compared by content, not by time
    script.write_text(original)
    assert planned(wf) == {}
    assert (ROOT / "scripts" / "evaluate.py").read_text() == original


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_f_killed_training_leaves_nothing_finished_and_next_run_completes_it(own_copy):
    wf = own_copy
    entry = "paper_music2"
    # more epochs for one entry: its train job re-runs, and lasts long enough to be killed midway
    cfg = _config(wf, "f_epochs", lambda c: c["grid"][entry].update(epochs=40))
    emb, tlog = (
        wf / "results" / "tiny" / "embeddings" / f"{entry}.npy",
        wf / "results" / "tiny" / "train_log" / f"{entry}.tsv",
    )
    job_log = wf / "results" / "tiny" / "logs" / "train" / f"{entry}.log"
    assert planned(wf, cfg) == {("train", entry): 1, ("evaluate", entry): 1, **AFTER_EVAL}

    proc = subprocess.Popen(
        _cmd(wf, "--configfile", cfg), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 300
    try:
        # midway: the first epoch is done, 39 to go
        while "epoch 1/40" not in (job_log.read_text() if job_log.exists() else ""):
            assert proc.poll() is None, "snakemake ended before the training job got going"
            assert time.monotonic() < deadline, "the training job did not finish its first epoch within 300 s"
            time.sleep(0.1)
        assert "epoch 40/40" not in job_log.read_text() and not emb.exists()
    finally:  # SIGKILL snakemake and its job at once (a crash, the OOM killer, a lost node)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert not _group_alive(proc.pid), "processes of the killed run are still alive"

    # nothing that looks finished: no final embeddings or training log, no stray file under their names
    assert not emb.exists() and not tlog.exists()
    assert sorted(p.name for p in emb.parent.iterdir() if not p.name.startswith(".")) == sorted(
        f"{e}.npy" for e in ENTRIES if e != entry
    )
    assert not any(entry in p.name for p in tlog.parent.iterdir())
    assert planned(wf, cfg) == {("train", entry): 1, ("evaluate", entry): 1, **AFTER_EVAL}

    # the next run (after releasing the lock the killed run left) completes it
    _snakemake(wf, "--unlock", "--configfile", cfg)
    _snakemake(wf, "--configfile", cfg)
    assert planned(wf, cfg) == {}
    assert len(pd.read_csv(tlog, sep="\t")) == 40
    assert np.isfinite(np.load(emb)).all()
    assert not any(p.name.startswith(f".{entry}") for p in emb.parent.iterdir()), "a temporary file was left behind"


# --- edits to the library: each rule re-runs when the code it runs changes (rules/common.smk) ---


def _edit_body(path: Path, function: str, line: str = "_edited = True") -> None:
    """Add ``line`` at the top of ``function``'s body (after its docstring), as a change of
    behaviour would: the syntax tree changes."""
    import ast

    text = path.read_text()
    tree = ast.parse(text)
    node = next(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == function)
    first = node.body[0]
    after = first.end_lineno if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) else node.lineno
    indent = " " * first.col_offset
    lines = text.splitlines(keepends=True)
    lines.insert(after, f"{indent}{line}\n")
    path.write_text("".join(lines))


def _code_reason(reasons: set, rule: str) -> str:
    (reason,) = {r for job_rule, r in reasons if job_rule == rule}
    return reason


def test_code_a_trainer_edit_reruns_training_and_what_follows_for_sgns_entries_only(own_copy):
    wf = own_copy
    _edit_body(wf / "track2vec" / "train.py", "make_pairs")
    reasons = set()
    jobs = planned(wf, reasons=reasons)
    assert jobs == {**_all("train"), **_all("evaluate"), **AFTER_EVAL}
    reason = _code_reason(reasons, "train")
    assert reason.startswith("Params have changed") and reason.count("track2vec/train.py") == 2
    # the same plan when the jobs go to SLURM (the workflow profile applies on top of it)
    slurm = planned(wf, "tiny.yaml", "--profile", str(wf / "profiles" / "slurm"))
    assert slurm == jobs


def test_code_b_metric_edit_rescores_without_training(own_copy):
    wf = own_copy
    _edit_body(wf / "track2vec" / "metrics.py", "hr_ndcg")
    reasons = set()
    assert planned(wf, reasons=reasons) == {
        **_all("evaluate"),
        **_baselines("evaluate"),
        ("oracle", None): 1,  # its scores come from the same HR/NDCG
        **AFTER_EVAL,
    }
    assert "track2vec/metrics.py" in _code_reason(reasons, "evaluate")


def test_code_c_radio_edit_reruns_the_radios_only(own_copy):
    wf = own_copy
    _edit_body(wf / "track2vec" / "radio.py", "walk_radio")
    reasons = set()
    assert planned(wf, reasons=reasons) == {("radio", None): 2, ("radio_quality", None): 1}
    assert "track2vec/radio.py" in _code_reason(reasons, "radio")


def test_code_d_docstrings_comments_and_formatting_rerun_nothing(own_copy):
    wf = own_copy
    for rel in ("track2vec/train.py", "track2vec/knn.py", "track2vec/pipeline/test.py", "scripts/train.py"):
        path = wf / rel
        text = path.read_text()
        edited = text.replace('"""', '"""Edited. ', 1)  # the module docstring
        edited = edited.replace("\n\n\ndef ", "\n\n\n# a comment\ndef ", 1)  # a comment and a blank line
        assert edited != text
        path.write_text(edited + "\n\n# the end\n")
    assert planned(wf) == {}


def test_code_e_a_new_module_imported_by_one_step_reruns_that_step(own_copy):
    wf = own_copy
    (wf / "track2vec" / "extra.py").write_text('"""A new module."""\n\n\ndef nothing():\n    return None\n')
    assert planned(wf) == {}  # not imported by any step yet
    step = wf / "track2vec" / "pipeline" / "radio.py"
    text = step.read_text()
    step.write_text(text.replace("from .common import", "from .. import extra  # noqa: F401\nfrom .common import", 1))
    reasons = set()
    assert planned(wf, reasons=reasons) == {("radio", None): 2}
    assert "track2vec/extra.py" in _code_reason(reasons, "radio")
