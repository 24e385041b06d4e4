"""Rule train: one SGNS model for the grid entry {entry}."""

from track2vec.pipeline.train import train_step
from track2vec.scripting import run


def main(smk, log):
    i, o = smk.input, smk.output
    train_step(i.train, i.vocab, smk.params.hp, smk.threads, o.embeddings, o.log, log, device=smk.params.device)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
