"""Rule aggregate: the grid table (one row per entry)."""
from track2vec.pipeline import aggregate_step
from track2vec.scripting import run


def main(smk, log):
    entries = smk.params.entries
    metrics = dict(zip(entries, smk.input.metrics))
    logs = dict(zip(entries, smk.input.train_logs))
    aggregate_step(entries, metrics, logs, smk.output[0], log)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
