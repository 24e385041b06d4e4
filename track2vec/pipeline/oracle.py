"""Step of the rule oracle (rules/evaluate.smk): the best achievable scores on the built-in data."""

from __future__ import annotations

import logging

from ..atomic import write_json
from ..io import read_pairs, read_vocab
from .common import LOG

__all__ = ["oracle_step"]


def oracle_step(
    model: str, vocab: str, val: str, test: str, k: int, same_song: str, out: str, logger: logging.Logger = LOG
) -> dict:
    """The best achievable HR@k / NDCG@k on the built-in dataset (validation and test), as JSON."""
    from ..oracle import oracle_scores
    from ..synthetic import load_model as load_generator

    gen = load_generator(model)
    vocab_df = read_vocab(vocab)
    scores = {
        part: oracle_scores(gen, vocab_df, read_pairs(path), k=k, same_song=same_song, progress=logger.info)
        for part, path in (("val", val), ("test", test))
    }
    write_json(out, scores)
    logger.info(
        "oracle: validation HR@%d %.4f NDCG@%d %.4f; test HR@%d %.4f",
        k,
        scores["val"]["hr_at_k"],
        k,
        scores["val"]["ndcg_at_k"],
        k,
        scores["test"]["hr_at_k"],
    )
    return scores
