"""Rule load: read the playlists file (any supported layout), check it, write playlists.parquet."""

from track2vec.pipeline.load import load_step
from track2vec.scripting import run


def main(smk, log):
    load_step(smk.input[0], smk.output[0], log)


run(main, snakemake)  # noqa: F821 - injected by Snakemake
