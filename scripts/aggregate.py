"""Rule aggregate: the grid table (one row per entry, means over replicate runs)."""

from track2vec.pipeline.aggregate import aggregate_step
from track2vec.scripting import run


def main(smk, log):
    i, p = smk.input, smk.params
    metrics = dict(zip(p.runs, i.metrics))
    logs = dict(zip(p.runs, i.train_logs))
    oracle = i.oracle[0] if len(i.oracle) else None
    aggregate_step(p.entries, metrics, logs, smk.output[0], oracle=oracle, trials=p.trials, metric=p.metric, logger=log)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
