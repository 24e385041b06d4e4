"""Rule baseline: count a popularity or co-occurrence baseline on the training sequences."""

from track2vec.pipeline.baseline import baseline_step
from track2vec.scripting import run


def main(smk, log):
    i, p, o = smk.input, smk.params, smk.output
    baseline_step(i.train, i.vocab, p.method, p.window, o.model, o.log, log)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
