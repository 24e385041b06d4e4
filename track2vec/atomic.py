"""Atomic file writing: write to a temporary file in the same folder, then rename.

A job killed midway therefore never leaves a file that looks finished: either the
old file (or none) is there, or the complete new one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_json", "write_text", "save_npy", "ResultsFolderError"]


class ResultsFolderError(OSError):
    """The output folder cannot be written (read-only, full, or missing permissions)."""


def _explain(exc: OSError, path: Path) -> ResultsFolderError:
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        how = (
            "the folder is read-only or not writable: make it writable or point the run elsewhere "
            "(snakemake --directory DIR)"
        )
    elif exc.errno == errno.ENOSPC:
        how = "the disk is full: free some space and re-run (finished files are kept)"
    else:
        how = str(exc)
    return ResultsFolderError(exc.errno, f"cannot write {path}: {how}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    Parameters
    ----------
    path : str or os.PathLike
        The final file name.
    suffix : str, optional
        Suffix of the temporary file (some writers choose the format from it);
        defaults to the suffix of ``path``.

    Yields
    ------
    pathlib.Path
        Where the caller writes. It is removed if the block raises.
    """
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{final.name}.tmp-",
            suffix=final.suffix if suffix is None else suffix,
            dir=final.parent,
        )
        os.close(fd)
        # mkstemp creates 0600; give the file the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except OSError as exc:  # read-only or full folder
        raise _explain(exc, final) from exc
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise _explain(exc, final) from exc
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())


def write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented, key-sorted JSON to ``path`` atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def save_npy(path: str | os.PathLike, array) -> None:
    """Save a numpy array to ``path`` (.npy) atomically."""
    import numpy as np

    with atomic_path(path, suffix=".npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array, allow_pickle=array.dtype == object)
            fh.flush()
            os.fsync(fh.fileno())
