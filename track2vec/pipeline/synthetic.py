"""Step of the rule synthetic (rules/data.smk): the built-in dataset."""

from __future__ import annotations

import logging

from .common import LOG

__all__ = ["synthetic_step"]


def synthetic_step(
    preset: str,
    seed: int,
    n_playlists: int | None,
    playlists_out: str,
    metadata_out: str,
    model_out: str,
    logger: logging.Logger = LOG,
) -> None:
    """Generate the built-in dataset and write its playlists (.npy), metadata (.csv) and
    generator (.npz); see :mod:`track2vec.synthetic`."""
    from .. import synthetic

    ds = synthetic.generate(preset=preset, seed=seed, n_playlists=n_playlists)
    synthetic.write(ds, playlists_out, metadata_out, model_out)
    logger.info("wrote the %s synthetic dataset (seed %d): %d playlists", preset, seed, len(ds.playlists))
