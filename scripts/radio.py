"""Rule radio: a radio (.m3u8, .json, .html) from one seed song with the best entry."""

from track2vec.pipeline.radio import radio_step
from track2vec.scripting import run


def main(smk, log):
    i, p, o = smk.input, smk.params, smk.output
    embeddings = dict(zip(p.entries, i.models))
    meta = i.metadata  # a path, or an empty list when there is no metadata file
    metadata = meta if isinstance(meta, str) else (meta[0] if len(meta) else None)
    radio_step(
        i.best,
        embeddings,
        i.vocab,
        metadata,
        p.query,
        p.nb_steps,
        p.nb_candidates,
        p.seed,
        p.metric,
        o.m3u8,
        o.json,
        o.html,
        log,
        train=i.train,
        anchor=p.anchor,
        max_artist_run=p.max_artist_run,
        max_per_artist=p.max_per_artist,
        generator=i.generator[0] if len(i.generator) else None,
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
