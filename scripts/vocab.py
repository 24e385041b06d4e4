"""Rule vocab: count, filter and index tracks; write vocab.parquet and the encoded playlists."""

from track2vec.pipeline.vocab import vocab_step
from track2vec.scripting import run


def main(smk, log):
    vocab_step(smk.input[0], smk.params.min_count, smk.output.vocab, smk.output.corpus, log)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
