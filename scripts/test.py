"""Rule test: the best entry scored on the test pairs (all its replicate runs, cold start, oracle)."""

from track2vec.pipeline.test import test_step
from track2vec.scripting import run


def main(smk, log):
    i, p = smk.input, smk.params
    models = dict(zip(p.runs, i.models))
    oracle = i.oracle[0] if len(i.oracle) else None
    test_step(
        i.best,
        models,
        i.vocab,
        i.pairs,
        p.k,
        p.metric,
        p.same_song,
        smk.output[0],
        train=i.train,
        cold_start=tuple(p.cold_start),
        oracle=oracle,
        logger=log,
        exclude_context=p.exclude_context,
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
