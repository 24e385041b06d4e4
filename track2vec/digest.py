"""Digests of a results folder: check that a change leaves every result as it was.

Usage::

    python -m track2vec.digest results/tiny                 # one line per file: sha256 and path
    python -m track2vec.digest results/tiny /tmp/old/tiny   # the files that differ; exit status 1 if any

Every file under the folder counts except the logs, the Snakemake benchmarks and the
report's figures (``logs/``, ``benchmarks/``, ``report/``), which hold times or are drawn
from the other files. In the tables (``.tsv``) the columns that hold times are left out:
``train_seconds``, ``seconds`` and ``pairs_per_second``. Training is bit-for-bit
reproducible with ``train: {threads: 1}`` only, so compare runs made with it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["IGNORED_FOLDERS", "TIME_COLUMNS", "digest_file", "digest_folder", "compare_folders", "main"]

#: folders of a results folder that are not compared
IGNORED_FOLDERS = ("logs", "benchmarks", "report")
#: table columns that hold times, left out of a table's digest
TIME_COLUMNS = ("train_seconds", "seconds", "pairs_per_second")


def digest_file(path: str | Path) -> str:
    """The sha256 of a file; of a ``.tsv`` table without its :data:`TIME_COLUMNS`."""
    path = Path(path)
    data = path.read_bytes()
    if path.suffix == ".tsv":
        import pandas as pd

        table = pd.read_csv(io.BytesIO(data), sep="\t", dtype=str, keep_default_na=False)
        table = table.drop(columns=[c for c in TIME_COLUMNS if c in table.columns])
        data = table.to_csv(sep="\t", index=False).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def digest_folder(folder: str | Path) -> dict[str, str]:
    """Relative path -> digest of every compared file under ``folder``, sorted by path.

    Raises
    ------
    FileNotFoundError
        ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder: give a results folder, such as results/tiny")
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or rel.parts[0] in IGNORED_FOLDERS or path.name.startswith("."):
            continue
        out[rel.as_posix()] = digest_file(path)
    return out


def compare_folders(a: str | Path, b: str | Path) -> dict[str, list[str]]:
    """The files that differ between two results folders.

    Returns
    -------
    dict
        ``changed`` (in both, different digests), ``only_a`` and ``only_b``: lists of
        relative paths, each empty when the folders hold the same results.
    """
    da, db = digest_folder(a), digest_folder(b)
    return {
        "changed": [p for p in da if p in db and da[p] != db[p]],
        "only_a": [p for p in da if p not in db],
        "only_b": [p for p in db if p not in da],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m track2vec.digest", description=__doc__.split("\n")[0])
    parser.add_argument("folder", help="a results folder (for example results/tiny)")
    parser.add_argument("other", nargs="?", help="a second results folder to compare with the first")
    args = parser.parse_args(argv)
    try:
        if args.other is None:
            for rel, digest in digest_folder(args.folder).items():
                print(f"{digest}  {rel}")
            return 0
        diff = compare_folders(args.folder, args.other)
    except FileNotFoundError as exc:
        print(f"track2vec.digest: error: {exc}", file=sys.stderr)
        return 2
    for key, label in (
        ("changed", "differs"),
        ("only_a", f"only in {args.folder}"),
        ("only_b", f"only in {args.other}"),
    ):
        for rel in diff[key]:
            print(f"{label}: {rel}")
    same = not any(diff.values())
    print("same results" if same else "the results differ", file=sys.stderr)
    return 0 if same else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
