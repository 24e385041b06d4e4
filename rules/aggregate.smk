# Steps 6-8: the grid table, the best entry (validation), and its score on the test pairs;
# and, with search.enabled, the table of every random-search trial.


rule aggregate:
    input:
        metrics=all_metrics,
        train_logs=all_train_logs,
        oracle=oracle_metrics,
    output:
        res("grid.tsv"),
    log:
        res("logs/aggregate.log"),
    benchmark:
        res("benchmarks/aggregate.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    params:
        **code("aggregate"),
        entries=ENTRIES,
        runs=RUNS,
        trials=TRIALS,
        metric=config["best"]["metric"],
    script:
        "../scripts/aggregate.py"


rule best:
    input:
        res("grid.tsv"),
    output:
        res("best.json"),
    log:
        res("logs/best.log"),
    benchmark:
        res("benchmarks/best.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    params:
        **code("best"),
        metric=config["best"]["metric"],
        embeddings_only=config["best"]["embeddings_only"],
    script:
        "../scripts/best.py"


rule test:
    input:
        best=res("best.json"),
        models=all_models,
        vocab=res("vocab.parquet"),
        pairs=res("split/test.parquet"),
        train=res("split/train.parquet"),
        oracle=oracle_metrics,
    output:
        res("test_score.json"),
    log:
        res("logs/test.log"),
    benchmark:
        res("benchmarks/test.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=test_mem_mb,
        runtime=test_runtime,
    params:
        **code("test"),
        runs=RUNS,
        cold_start=config["cold_start"],
        k=config["evaluate"]["k"],
        metric=config["evaluate"]["metric"],
        same_song=config["evaluate"]["same_song"],
        exclude_context=config["evaluate"]["exclude_context"],
    script:
        "../scripts/test.py"


rule search:
    input:
        metrics=trial_metrics,
        train_logs=trial_train_logs,
    output:
        res("search.tsv"),
    log:
        res("logs/search.log"),
    benchmark:
        res("benchmarks/search.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=small_mem_mb,
        runtime=small_runtime,
    params:
        **code("search"),
        trials={name: ENTRIES[name] for name in TRIALS},
        runs=[run for run in RUNS if entry_of(run) in TRIALS],
        metric=config["best"]["metric"],
    script:
        "../scripts/search.py"
