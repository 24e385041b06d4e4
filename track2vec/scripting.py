"""Glue for the workflow's scripts: logging to the rule's log file, and clear errors.

Each script in ``scripts/`` is::

    from track2vec.scripting import run
    run(main, snakemake)

``run`` sends log lines to the rule's ``log:`` file and to the terminal, each as
``<time> <rule> <LEVEL> <message>`` (a Python warning as ``<time> <rule> WARNING <message>``,
its category named unless it is a ``UserWarning``, without the source line that raised it),
and turns a :class:`~track2vec.errors.Track2VecError` into a one-paragraph message and exit
status 1 instead of a traceback.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable
from typing import Any

from .atomic import ResultsFolderError
from .errors import Track2VecError

__all__ = ["run"]

_FMT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def _setup(log_path: str | None, rule: str) -> logging.Logger:
    logger = logging.getLogger("track2vec")
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter(_FMT.replace("%(name)s", rule), datefmt="%H:%M:%S")
    err = logging.StreamHandler(sys.stderr)
    err.setFormatter(fmt)
    logger.addHandler(err)
    if log_path:
        try:
            fh = logging.FileHandler(log_path, mode="w", encoding="utf-8")
        except OSError as exc:  # read-only or full folder: still say what went wrong on the terminal
            logger.warning("cannot write the log file %s (%s); logging to the terminal only", log_path, exc.strerror)
        else:
            fh.setFormatter(fmt)
            logger.addHandler(fh)
    logger.propagate = False

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message) if category is UserWarning else f"{message} ({category.__name__})"
        logger.warning("%s", text)

    warnings.showwarning = show
    return logger


def run(main: Callable[[Any, logging.Logger], None], smk: Any) -> None:
    """Run a script's ``main(snakemake, logger)`` with logging and clear errors.

    Parameters
    ----------
    main : callable
        Takes the ``snakemake`` object and a logger.
    smk : snakemake.script.Snakemake
        The object Snakemake injects into scripts.
    """
    log_path = smk.log[0] if len(smk.log) else None
    rule = getattr(smk, "rule", "track2vec")
    logger = _setup(log_path, rule)
    warnings.simplefilter("default")
    try:
        main(smk, logger)
    except (Track2VecError, ResultsFolderError) as exc:
        logger.error("%s", exc)
        sys.exit(1)
    except MemoryError:
        logger.error(
            "out of memory in rule %s: give the job more memory (resources mem_mb) or use a smaller dataset", rule
        )
        sys.exit(1)
