# Step 5: HR@k and NDCG@k of each entry on the validation pairs (exact nearest neighbours).


rule evaluate:
    input:
        model=model_file,
        vocab=res("vocab.parquet"),
        pairs=res("split/val.parquet"),
        train=res("split/train.parquet"),
    output:
        res("metrics/{entry}.json"),
    log:
        res("logs/evaluate/{entry}.log"),
    benchmark:
        res("benchmarks/evaluate/{entry}.tsv")
    wildcard_constraints:
        entry=RUN_PATTERN,
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=evaluate_mem_mb,
        runtime=evaluate_runtime,
    params:
        **code("evaluate"),
        popularity=entry_popularity,
        context_decay=entry_context_decay,
        choose_by=config["best"]["metric"],
        context=config["evaluate"]["context"],
        exclude_context=config["evaluate"]["exclude_context"],
        k=config["evaluate"]["k"],
        metric=config["evaluate"]["metric"],
        same_song=config["evaluate"]["same_song"],
    script:
        "../scripts/evaluate.py"


rule oracle:
    input:
        model=res("data/synthetic_model.npz"),
        vocab=res("vocab.parquet"),
        val=res("split/val.parquet"),
        test=res("split/test.parquet"),
    output:
        res("metrics/oracle.json"),
    log:
        res("logs/oracle.log"),
    benchmark:
        res("benchmarks/oracle.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=io_mem_mb,
        runtime=io_runtime,
    params:
        **code("oracle"),
        k=config["evaluate"]["k"],
        same_song=config["evaluate"]["same_song"],
    script:
        "../scripts/oracle.py"
