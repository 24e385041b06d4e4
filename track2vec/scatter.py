"""The trainer's scatter-add: a compiled TensorFlow op, built from ``scatter.cc`` on first use,
or TensorFlow's own ``scatter_add`` where it cannot be built. Both give the same bits.

Usage::

    import tensorflow as tf
    from track2vec import scatter

    table = tf.Variable(tf.zeros([10, 4]))
    add, how = scatter.adder(tf, table)     # how: "compiled (~/.cache/track2vec/...)" or why not
    add(tf.ones([2, 4]), tf.constant([3, 3]))   # table[3] += 1, twice

Every write of the trainer (track2vec/train.py) is a scatter-add of per-pair updates into its
table, and TensorFlow's CPU kernel spends most of that time on per-row overhead. ``scatter.cc``
adds the same floats in the same order, at a quarter to a third of the cost per row
(``bench/profile_ops.py``), so the trained embeddings are the same with or without it.

The op is compiled once per source, TensorFlow version, compiler and machine type, by the C++
compiler in ``CXX`` (else ``c++``, else ``g++``; a few seconds), into the folder named by
``TRACK2VEC_CACHE`` (else ``$XDG_CACHE_HOME/track2vec``, else ``~/.cache/track2vec``), and
written there atomically, so concurrent jobs share it. ``TRACK2VEC_COMPILED_OP=0`` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["SOURCE", "SWITCH_VARIABLE", "CACHE_VARIABLE", "adder", "cache_dir", "compiled_op"]

#: the op's C++ source, next to this module
SOURCE = Path(__file__).with_name("scatter.cc")
#: environment variable: ``0`` uses TensorFlow's scatter-add, without trying to build the op
SWITCH_VARIABLE = "TRACK2VEC_COMPILED_OP"
#: environment variable: the folder of the compiled op
CACHE_VARIABLE = "TRACK2VEC_CACHE"
#: seconds a build may take before it is given up
BUILD_TIMEOUT = 600

#: the ops loaded in this process, by library path (TensorFlow loads a library once)
_LOADED: dict[Path, object] = {}


def cache_dir() -> Path:
    """The folder of the compiled op: ``$TRACK2VEC_CACHE``, else ``$XDG_CACHE_HOME/track2vec``,
    else ``~/.cache/track2vec``."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "track2vec"


def _compiler() -> str | None:
    """The C++ compiler: ``$CXX``, else ``c++``, else ``g++`` on the PATH; None if none is found."""
    if os.environ.get("CXX"):
        return os.environ["CXX"]
    return shutil.which("c++") or shutil.which("g++")


def _command(tf, cxx: str, out: Path, source: Path = SOURCE) -> list[str]:
    """The compile-and-link command of ``source`` into ``out``, against the running TensorFlow's
    headers and library."""
    return [
        cxx,
        "-O3",
        "-shared",
        "-fPIC",
        "-w",  # TensorFlow's headers raise hundreds of deprecation warnings
        *tf.sysconfig.get_compile_flags(),
        str(source),
        "-o",
        str(out),
        *tf.sysconfig.get_link_flags(),
    ]


def _library_path(tf, cxx: str) -> Path:
    """Where the op built by ``cxx`` for this source, TensorFlow and machine lives in the cache."""
    try:
        version = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        version = ""
    key = hashlib.sha256()
    # the source by its text, not its path: the package and scripts/track2vec (a link) share a build
    command = _command(tf, cxx, Path(), source=Path(SOURCE.name))
    for part in (SOURCE.read_bytes(), tf.__version__, platform.machine(), cxx, version, *command):
        key.update(part if isinstance(part, bytes) else part.encode())
        key.update(b"\0")
    return cache_dir() / f"scatter-{key.hexdigest()[:16]}.so"


def _build(tf, cxx: str, out: Path) -> None:
    """Compile the op into ``out``, through a temporary file in its folder (a killed build leaves
    no library that looks finished; concurrent builds each rename a whole one).

    Raises
    ------
    RuntimeError
        The compiler failed; the message holds its last lines.
    OSError
        The cache folder cannot be written.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.stem + ".", suffix=".tmp.so")
    os.close(fd)
    try:
        try:
            run = subprocess.run(_command(tf, cxx, Path(tmp)), capture_output=True, text=True, timeout=BUILD_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            raise RuntimeError(f"{cxx} took more than {BUILD_TIMEOUT} s") from e
        if run.returncode != 0:
            last = " | ".join((run.stderr or run.stdout).strip().splitlines()[-3:])
            raise RuntimeError(f"{cxx} failed with exit status {run.returncode}: {last}")
        os.chmod(tmp, 0o755)  # mkstemp's 0600, widened as a plain build's would be
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def compiled_op(tf) -> tuple[Callable | None, str]:
    """The compiled scatter-add op, built and cached on first use.

    Parameters
    ----------
    tf : module
        TensorFlow, imported.

    Returns
    -------
    op : callable or None
        ``op(table.handle, indices, updates)``: ``table[indices[i]] += updates[i]`` for each ``i``
        in order (int32 or int64 indices; a float32 matrix table, on the CPU). None where the op
        is turned off or cannot be built or loaded.
    how : str
        ``compiled (<library path>)``, or why TensorFlow's scatter-add is used instead.
    """
    if os.environ.get(SWITCH_VARIABLE, "1").strip() == "0":
        return None, f"{SWITCH_VARIABLE}=0"
    cxx = _compiler()
    if cxx is None:
        return None, "no C++ compiler found (set CXX, or install g++) to build the compiled op"
    path = _library_path(tf, cxx)
    try:
        if path not in _LOADED:
            if not path.exists():
                _build(tf, cxx, path)
            _LOADED[path] = tf.load_op_library(str(path)).track2vec_scatter_add
    except (OSError, RuntimeError, AttributeError, tf.errors.NotFoundError) as e:
        return None, f"the compiled op could not be built or loaded ({e}; {CACHE_VARIABLE} names its folder)"
    return _LOADED[path], f"compiled ({path})"


def adder(tf, table, device: str = "/CPU:0") -> tuple[Callable, str]:
    """The scatter-add into ``table`` that the trainer uses.

    Parameters
    ----------
    tf : module
        TensorFlow, imported.
    table : tf.Variable
        A float32 matrix.
    device : str
        Where the training runs: the compiled op has a CPU kernel only, so on ``/GPU:...``
        TensorFlow's scatter-add is used.

    Returns
    -------
    add : callable
        ``add(updates, rows)``: ``table[rows[i]] += updates[i]`` for each ``i`` in order.
    how : str
        Which scatter-add it is, for the log: ``compiled (<library path>)``, or TensorFlow's and why.
    """
    op, how = (None, "training on a GPU") if "GPU" in device.upper() else compiled_op(tf)
    if op is None:
        return (lambda updates, rows: table.scatter_add(tf.IndexedSlices(updates, rows))), f"TensorFlow's ({how})"
    return (lambda updates, rows: op(table.handle, rows, updates)), how
