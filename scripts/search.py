"""Rule search: every random-search trial with its validation scores, best first."""

from track2vec.pipeline.search import search_step
from track2vec.scripting import run


def main(smk, log):
    i, p = smk.input, smk.params
    search_step(p.trials, dict(zip(p.runs, i.metrics)), dict(zip(p.runs, i.train_logs)), smk.output[0], p.metric, log)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
