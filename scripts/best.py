"""Rule best: the grid entry with the highest validation metric."""

from track2vec.pipeline.best import best_step
from track2vec.scripting import run


def main(smk, log):
    best_step(smk.input[0], smk.params.metric, smk.output[0], smk.params.embeddings_only, log)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
