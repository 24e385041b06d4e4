"""Rule split: training sequences and validation / test pairs."""

from track2vec.pipeline.split import split_step
from track2vec.scripting import run


def main(smk, log):
    p, o = smk.params, smk.output
    split_step(smk.input[0], p.n_val, p.n_test, p.seed, o.train, o.val, o.test, log)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
