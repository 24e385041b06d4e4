# track2vec: song embeddings from playlists with word2vec, evaluated and tuned on a grid.
#
#   snakemake --cores 8                                   # everything, built-in dataset
#   snakemake --cores 8 --config playlists=/path/music_2.npy
#   snakemake --cores 2 --configfile tests/tiny.yaml      # the tiny preset (about a minute)
#
# The DAG: synthetic (if playlists: synthetic) -> load -> vocab -> split -> train (one job
# per grid entry) -> evaluate -> aggregate -> best -> test, radio (one job per seed song),
# report (its figures; then `snakemake --report results/report.html`). See README.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"


wildcard_constraints:
    entry=RUN_ID_PATTERN,


include: "rules/data.smk"
include: "rules/vocab.smk"
include: "rules/split.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/aggregate.smk"
include: "rules/radio.smk"
include: "rules/report.smk"
include: "rules/export.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
