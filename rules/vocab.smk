# Step 2: count tracks, keep those with count >= min_count, index them by descending count.


rule vocab:
    input:
        res("playlists.parquet"),
    output:
        vocab=res("vocab.parquet"),
        corpus=res("corpus.parquet"),
    log:
        res("logs/vocab.log"),
    benchmark:
        res("benchmarks/vocab.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=io_mem_mb,
        runtime=io_runtime,
    params:
        **code("vocab"),
        min_count=config["min_count"],
    script:
        "../scripts/vocab.py"
