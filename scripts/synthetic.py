"""Rule synthetic: write the built-in dataset (playlists .npy, tracks .csv, generator model .npz)."""

from track2vec.pipeline.synthetic import synthetic_step
from track2vec.scripting import run


def main(smk, log):
    p, o = smk.params, smk.output
    synthetic_step(p.preset, p.seed, p.n_playlists, o.playlists, o.metadata, o.model, log)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
