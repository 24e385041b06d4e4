# Step 11: embeddings in the formats other tools read (word2vec text and binary, TensorBoard's
# projector, parquet): results/export/best/ for the best entry (the best sgns entry when the best
# is a baseline), part of the default target; results/export/{entry}/ for any entry on demand.

from track2vec.export import EXPORT_FILES


rule export:
    input:
        unpack(export_inputs),
        vocab=res("vocab.parquet"),
        metadata=metadata_file,
    output:
        **{kind: res(f"export/{{entry}}/{name}") for kind, name in EXPORT_FILES.items()},
    log:
        res("logs/export/{entry}.log"),
    benchmark:
        res("benchmarks/export/{entry}.tsv")
    wildcard_constraints:
        entry=f"best|{RUN_PATTERN}",
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=export_mem_mb,
        runtime=export_runtime,
    params:
        **code("export"),
        sgns=SGNS_ENTRIES,
        methods={name: hp["method"] for name, hp in ENTRIES.items()},
        top=config["export"]["top"],
    script:
        "../scripts/export.py"
