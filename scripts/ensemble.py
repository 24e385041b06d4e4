"""Rule ensemble: one embedding from the members of an ensemble entry's run."""

from track2vec.pipeline.ensemble import ensemble_step
from track2vec.scripting import run


def main(smk, log):
    i, o = smk.input, smk.output
    ensemble_step(i.members, i.logs, i.vocab, o.embeddings, o.log, log)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
