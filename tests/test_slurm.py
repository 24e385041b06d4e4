"""The tiny preset on a real one-node SLURM cluster (``--profile profiles/slurm``).

The test starts Debian's ``slurmctld`` and ``slurmd`` (and ``munged`` if none answers) as
root, runs the workflow with the SLURM executor, and checks that

* every job of the workflow was submitted with sbatch: its SLURM job id is in Snakemake's
  log, and the controller knows it (``scontrol show job``, kept for ``MinJobAge``; the
  completed-jobs file of ``jobcomp/filetxt``; the ``slurmctld`` log), as COMPLETED;
* the metrics (grid.tsv, test_score.json) equal those of a local run of the same config.

It needs root and the packages ``slurmctld slurmd slurm-client munge`` (``.ci/run`` installs
them); elsewhere it skips, saying why. With ``CI=true`` missing packages are a failure.
It refuses to touch a machine that already has a SLURM configuration or controller.
Daemons are stopped by their PIDs at the end, and every wait is bounded.
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ROOT

pytestmark = pytest.mark.workflow

SLURM_CONF = Path("/etc/slurm/slurm.conf")
MARKER = "# written by track2vec tests/test_slurm.py"
PACKAGES = "slurmctld slurmd slurm-client munge"
BINARIES = ("slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo", "munged", "munge", "unmunge")
LOCK = Path("/tmp/track2vec-test-slurm.lock")
SNAKEMAKE_LIMIT_S = 900  # the tiny preset takes 2-4 minutes through SLURM on 2 busy cores
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable() -> str | None:
    """Why a SLURM cluster cannot be started here (None: it can)."""
    if os.geteuid() != 0:
        return "needs root to start slurmctld/slurmd (run as root, as CI does)"
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        msg = (
            f"SLURM is not installed (missing {', '.join(missing)}): "
            f"apt-get install -y --no-install-recommends {PACKAGES} (as .ci/run does)"
        )
        if IN_CI:
            pytest.fail("CI=true but " + msg)
        return msg
    if SLURM_CONF.exists() and MARKER not in SLURM_CONF.read_text(errors="replace"):
        return f"{SLURM_CONF} exists and was not written by this test: not replacing a real SLURM configuration"
    return None


def _wait(what: str, check, timeout: float, interval: float = 0.5):
    """Call ``check()`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _ok(*cmd: str, timeout: float = 10) -> str | None:
    """stdout of ``cmd`` if it succeeds within ``timeout``, else None."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (subprocess.TimeoutExpired, OSError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _munge_works() -> bool:
    try:
        cred = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
        if cred.returncode != 0:
            return False
        return subprocess.run(["unmunge"], input=cred.stdout, capture_output=True, timeout=10).returncode == 0
    except (subprocess.TimeoutExpired, OSError):
        return False


def _stop(proc: subprocess.Popen, name: str) -> None:
    """Stop a daemon this test started, by its PID (its own process group): TERM, then KILL."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _slurm_conf(tmp: Path, host: str) -> str:
    cpus = os.cpu_count() or 1
    with open("/proc/meminfo") as fh:
        total_mb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1]) // 1024
    return f"""{MARKER}; removed when the test ends
ClusterName=track2vec
SlurmctldHost={host}(127.0.0.1)
AuthType=auth/munge
CryptoType=crypto/munge
SlurmUser=root
SlurmdUser=root
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={tmp}/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
MinJobAge=3600
ReturnToService=2
StateSaveLocation={tmp}/state
SlurmdSpoolDir={tmp}/spool
SlurmctldPidFile={tmp}/slurmctld.pid
SlurmdPidFile={tmp}/slurmd.pid
SlurmctldLogFile={tmp}/slurmctld.log
SlurmdLogFile={tmp}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={int(total_mb * 0.8)} State=UNKNOWN
PartitionName=main Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    reason = _unavailable()
    if reason:
        pytest.skip(reason)
    lock = open(LOCK, "w")
    try:  # one SLURM test at a time on this machine (the config path is global)
        _wait("the lock of another SLURM test run", lambda: _try_lock(lock), timeout=900, interval=2)
    except TimeoutError as exc:
        pytest.skip(str(exc))
    if _ok("scontrol", "ping", timeout=5) and "UP" in (_ok("scontrol", "ping", timeout=5) or ""):
        pytest.skip("a SLURM controller is already running here: not starting another")
    tmp = tmp_path_factory.mktemp("slurm")
    for sub in ("state", "spool"):
        (tmp / sub).mkdir()
    host = socket.gethostname().split(".")[0]
    SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SLURM_CONF.write_text(_slurm_conf(tmp, host))
    started: list[tuple[subprocess.Popen, str]] = []

    def start(name, *cmd):
        out = open(tmp / f"{name}.out", "w")
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        started.append((proc, name))
        return proc

    try:
        if not _munge_works():
            subprocess.run(
                ["install", "-d", "-o", "munge", "-g", "munge", "-m", "0755", "/run/munge"], check=True, timeout=10
            )
            if not Path("/etc/munge/munge.key").exists():
                subprocess.run(["runuser", "-u", "munge", "--", "mungekey", "--create"], check=True, timeout=30)
            start("munged", "runuser", "-u", "munge", "--", "munged", "--foreground")
            _wait("munged", _munge_works, timeout=30)
        ctld = start("slurmctld", "slurmctld", "-D")
        _wait(
            "slurmctld (scontrol ping: UP)",
            lambda: ctld.poll() is None and "UP" in (_ok("scontrol", "ping", timeout=5) or ""),
            timeout=60,
        )
        start("slurmd", "slurmd", "-D")
        _wait(
            "slurmd (sinfo: node idle)", lambda: "idle" in (_ok("sinfo", "-h", "-o", "%T", timeout=5) or ""), timeout=60
        )
        yield tmp
    except TimeoutError as exc:
        logs = "\n".join(
            f"--- {p.name}:\n{p.read_text(errors='replace')[-2000:]}"
            for p in sorted(tmp.glob("*.out")) + sorted(tmp.glob("*.log"))
        )
        pytest.fail(f"{exc}\n{logs}")
    finally:
        for proc, name in reversed(started):
            _stop(proc, name)
        SLURM_CONF.unlink(missing_ok=True)
        lock.close()


def _try_lock(fh) -> bool:
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _config(tmp: Path) -> Path:
    """The tiny preset with single-threaded training: bit-for-bit reproducible embeddings."""
    cfg = yaml.safe_load((ROOT / "tests" / "tiny.yaml").read_text())
    cfg["train"] = {"threads": 1}
    path = tmp / "tiny_1thread.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        "timeout",
        "-k",
        "30",
        str(SNAKEMAKE_LIMIT_S),
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=SNAKEMAKE_LIMIT_S + 60)
    if proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-6000:]}")
    return proc


def _timed(workdir: Path, *args: str):
    t0 = time.monotonic()
    proc = _snakemake(workdir, *args)
    return proc, time.monotonic() - t0


def _metrics(results: Path):
    grid = pd.read_csv(results / "grid.tsv", sep="\t").set_index("entry")[["hr_at_k", "ndcg_at_k"]]
    score = json.loads((results / "test_score.json").read_text())
    # no timing in it: the whole file must match
    return grid.to_dict("index"), score


def test_tiny_preset_on_slurm_matches_local_run(slurm_cluster, tmp_path):
    cfg = _config(tmp_path)
    wd_slurm, wd_local = tmp_path / "slurm", tmp_path / "local"
    # The local reference run goes alongside (the SLURM run mostly waits between status checks).
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        local = pool.submit(_timed, wd_local, "--cores", "2", "--configfile", str(cfg))
        slurm = pool.submit(
            _timed,
            wd_slurm,
            "--profile",
            str(ROOT / "profiles" / "slurm"),
            "--configfile",
            str(cfg),
            "--slurm-init-seconds-before-status-checks",
            "2",
        )
        (proc, slurm_s), (local_proc, local_s) = slurm.result(), local.result()
    log = proc.stdout + proc.stderr
    # the jobs of the tiny preset: those the local run ran (the workflow grows; no fixed count)
    local_log = local_proc.stdout + local_proc.stderr
    n_jobs = len([r for _, r in re.findall(r"Finished jobid: (\d+) \(Rule: (\w+)\)", local_log) if r != "all"])
    assert n_jobs >= 13, local_log[-3000:]

    # every job of the workflow (all but the target rule `all`) was submitted to SLURM
    submitted = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log))
    ran = re.findall(r"Finished jobid: (\d+) \(Rule: (\w+)\)", log)
    jobs = {jid: rule for jid, rule in ran if rule != "all"}
    assert len(jobs) == n_jobs, f"expected the {n_jobs} jobs of the tiny preset, got {ran}\n{log[-3000:]}"
    assert set(jobs) <= set(submitted), f"jobs not submitted to SLURM: {set(jobs) - set(submitted)}\n{log[-3000:]}"
    assert not re.search(r"localrule (?!all)", log), "a job ran locally"
    slurm_ids = {submitted[j] for j in jobs}
    assert len(slurm_ids) == n_jobs and all(i.isdigit() for i in slurm_ids)

    # ... and the controller ran each of them to completion
    records = _ok("scontrol", "show", "job", "-o", timeout=20) or ""
    state = dict(re.findall(r"JobId=(\d+) .*?JobState=(\w+)", records))
    for sid in slurm_ids:
        assert state.get(sid) == "COMPLETED", f"SLURM job {sid}: {state.get(sid)!r} in scontrol show job"
    jobcomp = (slurm_cluster / "jobcomp.txt").read_text()
    for sid in slurm_ids:
        assert re.search(rf"JobId={sid} .*JobState=COMPLETED", jobcomp), f"SLURM job {sid} not in the jobcomp file"
    ctld_log = (slurm_cluster / "slurmctld.log").read_text()
    # the main scheduler logs "sched: Allocate JobId=N", the backfill scheduler "Started JobId=N"
    allocated = set(re.findall(r"(?:Allocate|Started) JobId=(\d+)", ctld_log))
    assert slurm_ids <= allocated, f"not started by slurmctld: {slurm_ids - allocated}"
    completed = set(re.findall(r"_job_complete: JobId=(\d+) done", ctld_log))
    assert slurm_ids <= completed, f"not completed in the slurmctld log: {slurm_ids - completed}"

    grid_s, test_s = _metrics(wd_slurm / "results" / "tiny")
    grid_l, test_l = _metrics(wd_local / "results" / "tiny")
    tiny_grid = yaml.safe_load((ROOT / "tests" / "tiny.yaml").read_text())["grid"]
    assert list(grid_s) == [*tiny_grid, "oracle"]
    assert grid_s == grid_l
    assert test_s == test_l
    print(f"SLURM run {slurm_s:.0f} s, local run {local_s:.0f} s (side by side)")
