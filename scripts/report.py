"""Rule report: the figures and tables of the Snakemake report (results/report/)."""

from track2vec.pipeline.report import report_step
from track2vec.scripting import run


def main(smk, log):
    i, p, o = smk.input, smk.params, smk.output
    report_step(
        i.grid,
        i.best,
        i.test,
        train_logs=dict(zip(p.runs, i.train_logs)),
        vocab=i.vocab,
        embeddings=dict(zip(p.sgns, i.embeddings)),
        out={name: o[name] for name in ("grid", "scores", "hyperparameters", "loss", "test", "test_table", "map")},
        defaults=p.defaults,
        best_metric=p.best_metric,
        metric=p.metric,
        map_songs=p.map_songs,
        generator=i.generator[0] if len(i.generator) else None,
        metadata=i.metadata[0] if len(i.metadata) else None,
        logger=log,
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
