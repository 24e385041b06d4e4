"""Exceptions with messages meant for people: what is wrong, where, and how to fix it."""

from __future__ import annotations

__all__ = ["Track2VecError", "DataError", "ConfigError"]


class Track2VecError(Exception):
    """Base class of the errors track2vec reports to users without a traceback."""


class DataError(Track2VecError, ValueError):
    """An input file (playlists, metadata, embeddings) is missing or malformed.

    Parameters
    ----------
    path : str
        The file concerned.
    problem : str
        What is wrong with it.
    fix : str, optional
        How to fix it.
    """

    def __init__(self, path, problem: str, fix: str | None = None):
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        msg = f"{self.path}: {problem}"
        if fix:
            msg += f" — {fix}"
        super().__init__(msg)


class ConfigError(Track2VecError, ValueError):
    """A configuration value is invalid; the message names the key."""
