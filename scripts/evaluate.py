"""Rule evaluate: HR@k and NDCG@k of one run (embeddings or baseline) on the validation pairs."""

from track2vec.pipeline.evaluate import evaluate_step
from track2vec.scripting import run


def main(smk, log):
    i, p = smk.input, smk.params
    evaluate_step(
        i.model,
        i.vocab,
        i.pairs,
        p.k,
        p.metric,
        p.same_song,
        smk.output[0],
        smk.wildcards.entry,
        log,
        train=i.train,
        popularity=p.popularity,
        choose_by=p.choose_by,
        context=p.context,
        context_decay=p.context_decay,
        exclude_context=p.exclude_context,
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
