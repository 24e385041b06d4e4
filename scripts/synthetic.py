"""Rule synthetic: write the built-in dataset (playlists .npy, tracks .csv, generator model .npz)."""
from track2vec.scripting import run


def main(smk, log):
    from track2vec import synthetic

    p = smk.params
    ds = synthetic.generate(preset=p.preset, seed=p.seed, n_playlists=p.n_playlists)
    synthetic.write(ds, smk.output.playlists, smk.output.metadata, smk.output.model)
    log.info("wrote the %s synthetic dataset (seed %d): %d playlists", p.preset, p.seed, len(ds.playlists))


run(main, snakemake)  # noqa: F821 - injected by Snakemake
