"""What several steps share: the logger they default to, and the check of ``evaluate.k``."""

from __future__ import annotations

import logging

from ..errors import ConfigError

__all__ = ["LOG", "check_k"]

#: the logger every step writes to unless given another (scripts pass the rule's)
LOG = logging.getLogger("track2vec")


def check_k(k: int, n_vocab: int) -> None:
    """``evaluate.k`` must leave room for the query itself in the vocabulary.

    Raises
    ------
    ConfigError
        ``k`` is at least the vocabulary size.
    """
    if k >= n_vocab:
        raise ConfigError(
            f"config key 'evaluate.k' is {k} but the vocabulary has only {n_vocab} songs: choose k below {n_vocab}"
        )
