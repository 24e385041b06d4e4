"""Rule export: one entry's embeddings (or, for {entry} best, the best entry's) in the formats other tools read."""

from track2vec.pipeline.export import BEST, export_step
from track2vec.scripting import run


def main(smk, log):
    i, p, o = smk.input, smk.params, smk.output
    entry = smk.wildcards.entry
    names = p.sgns if entry == BEST else [entry]
    meta = i.metadata  # a path, or an empty list when there is no metadata file
    export_step(
        entry,
        dict(zip(names, i.models)),
        i.vocab,
        meta if isinstance(meta, str) else (meta[0] if len(meta) else None),
        p.top,
        dict(o.items()),
        best=i.best if entry == BEST else None,
        grid=i.grid if entry == BEST else None,
        methods=p.methods,
        logger=log,
    )


run(main, snakemake)  # noqa: F821 - injected by Snakemake
