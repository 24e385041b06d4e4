# Step 4: one skip-gram (SGNS, TensorFlow) model per run of an sgns grid entry ({entry} is the
# entry's name, or {entry}+r2... for replicates), and one counted model per baseline entry.
# An entry with `ensemble: M` trains members {entry}+m1... and combines each run's M members.


rule train:
    input:
        train=res("split/train.parquet"),
        vocab=res("vocab.parquet"),
    output:
        embeddings=res("embeddings/{entry}.npy"),
        log=res("train_log/{entry}.tsv"),
    log:
        res("logs/train/{entry}.log"),
    benchmark:
        res("benchmarks/train/{entry}.tsv")
    wildcard_constraints:
        entry=TRAINED_PATTERN,
    conda:
        "../envs/train.yaml"
    threads: config["train"]["threads"]
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    params:
        **code("train"),
        hp=entry_params,
        device=config["train"]["device"],
    script:
        "../scripts/train.py"


rule ensemble:
    input:
        members=member_embeddings,
        logs=member_logs,
        vocab=res("vocab.parquet"),
    output:
        embeddings=res("embeddings/{entry}.npy"),
        log=res("train_log/{entry}.tsv"),
    log:
        res("logs/ensemble/{entry}.log"),
    benchmark:
        res("benchmarks/ensemble/{entry}.tsv")
    wildcard_constraints:
        entry=ENSEMBLE_PATTERN,
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=ensemble_mem_mb,
        runtime=io_runtime,
    params:
        **code("ensemble"),
    script:
        "../scripts/ensemble.py"


rule baseline:
    input:
        train=res("split/train.parquet"),
        vocab=res("vocab.parquet"),
    output:
        model=res("baselines/{entry}.npz"),
        log=res("train_log/{entry}.tsv"),
    log:
        res("logs/baseline/{entry}.log"),
    benchmark:
        res("benchmarks/baseline/{entry}.tsv")
    wildcard_constraints:
        entry=BASELINE_PATTERN,
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=io_mem_mb,
        runtime=io_runtime,
    params:
        **code("baseline"),
        method=baseline_method,
        window=baseline_window,
    script:
        "../scripts/baseline.py"
