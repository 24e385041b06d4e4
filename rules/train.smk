# Step 4: one skip-gram (SGNS, TensorFlow) model per grid entry; {entry} is the entry's name.


rule train:
    input:
        train=res("split/train.parquet"),
        vocab=res("vocab.parquet"),
    output:
        embeddings=res("embeddings/{entry}.npy"),
        log=res("train_log/{entry}.tsv"),
    params:
        hp=entry_params,
    threads: config["train"]["threads"]
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    log:
        res("logs/train/{entry}.log"),
    benchmark:
        res("benchmarks/train/{entry}.tsv")
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/train.py"
