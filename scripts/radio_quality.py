"""Rule radio_quality: today's walk and the configured radio from many seed songs, measured
(results/radio/quality.tsv and the report's table)."""

from track2vec.pipeline.radio_quality import radio_quality_step
from track2vec.scripting import run


def main(smk, log):
    i, p, o = smk.input, smk.params, smk.output
    radio_quality_step(
        i.best,
        dict(zip(p.entries, i.models)),
        i.vocab,
        i.metadata[0] if len(i.metadata) else None,
        p.quality_seeds,
        p.quality_among,
        p.nb_steps,
        p.nb_candidates,
        p.seed,
        p.metric,
        o.tsv,
        o.html,
        log,
        train=i.train,
        anchor=p.anchor,
        max_artist_run=p.max_artist_run,
        max_per_artist=p.max_per_artist,
        generator=i.generator[0] if len(i.generator) else None,
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
