"""Rule test: the best entry scored on the test pairs."""
from track2vec.pipeline import test_step
from track2vec.scripting import run


def main(smk, log):
    i, p = smk.input, smk.params
    embeddings = dict(zip(p.entries, i.embeddings))
    test_step(i.best, embeddings, i.vocab, i.pairs, p.k, p.metric, p.same_song, smk.output[0], log)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
