"""Rule oracle: the best achievable HR@k / NDCG@k on the built-in dataset."""

from track2vec.pipeline.oracle import oracle_step
from track2vec.scripting import run


def main(smk, log):
    i, p = smk.input, smk.params
    oracle_step(i.model, i.vocab, i.val, i.test, p.k, p.same_song, smk.output[0], log)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
