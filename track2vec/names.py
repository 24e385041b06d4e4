"""The names the pipeline gives things: methods, reserved entries and run ids.

Every module, the workflow's wildcard constraints and the config schema take these names
from here (tests/test_config.py checks the schema against them), so a name changes in
one place. Standard library only: the workflow imports it while it parses the config.

A *run* is one training of an entry: ``{entry}``, then ``{entry}+r2``, ``{entry}+r3``...
for replicates; an ensemble entry's members are ``{entry}+m1``, ``{entry}+m2``...
(:mod:`track2vec.grid`).
"""

from __future__ import annotations

__all__ = [
    "EMBEDDING",
    "POPULARITY",
    "COOCCURRENCE",
    "BASELINES",
    "METHODS",
    "ORACLE",
    "REPLICATE_SEP",
    "MEMBER_SEP",
    "ENTRY_PATTERN",
    "RUN_ID_PATTERN",
]

#: the method of a trained entry (skip-gram with negative sampling)
EMBEDDING = "sgns"
#: the baselines' methods: the most played songs, and the songs that co-occur with the query
POPULARITY = "popularity"
COOCCURRENCE = "cooccurrence"
BASELINES = (POPULARITY, COOCCURRENCE)
#: every method a grid entry may name
METHODS = (EMBEDDING, *BASELINES)
#: the row of the best achievable score on the built-in data (a reserved entry name and method)
ORACLE = "oracle"

#: run id of replicate r of an entry: ``{entry}+r{r}`` (r >= 2; the first run is ``{entry}``)
REPLICATE_SEP = "+r"
#: id of member i of an ensemble entry: ``{entry}+m{i}`` (i >= 1)
MEMBER_SEP = "+m"

#: a grid entry's name: safe as a file name and as a wildcard (no ``+``)
ENTRY_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
#: a run id or a member id: an entry's name, optionally followed by a separator and a number
RUN_ID_PATTERN = (
    ENTRY_PATTERN + "(?:(?:" + "|".join(s.replace("+", r"\+") for s in (REPLICATE_SEP, MEMBER_SEP)) + ")[0-9]+)?"
)
