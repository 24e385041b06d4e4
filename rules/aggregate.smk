# Steps 6-8: the grid table, the best entry (validation), and its score on the test pairs.


rule aggregate:
    input:
        metrics=all_metrics,
        train_logs=all_train_logs,
    output:
        res("grid.tsv"),
    params:
        entries=ENTRIES,
    threads: 1
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        res("logs/aggregate.log"),
    benchmark:
        res("benchmarks/aggregate.tsv")
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/aggregate.py"


rule best:
    input:
        res("grid.tsv"),
    output:
        res("best.json"),
    params:
        metric=config["best"]["metric"],
    threads: 1
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    log:
        res("logs/best.log"),
    benchmark:
        res("benchmarks/best.tsv")
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/best.py"


rule test:
    input:
        best=res("best.json"),
        embeddings=all_embeddings,
        vocab=res("vocab.parquet"),
        pairs=res("split/test.parquet"),
    output:
        res("test_score.json"),
    params:
        entries=list(ENTRIES),
        k=config["evaluate"]["k"],
        metric=config["evaluate"]["metric"],
        same_song=config["evaluate"]["same_song"],
    threads: 1
    resources:
        mem_mb=test_mem_mb,
        runtime=test_runtime,
    log:
        res("logs/test.log"),
    benchmark:
        res("benchmarks/test.tsv")
    conda:
        "../envs/pipeline.yaml"
    script:
        "../scripts/test.py"
