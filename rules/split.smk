# Step 3: training = every playlist without its last song; validation and test =
# (second-to-last, last) pairs of disjoint random samples of playlists with > 3 songs.


rule split:
    input:
        res("corpus.parquet"),
    output:
        train=res("split/train.parquet"),
        val=res("split/val.parquet"),
        test=res("split/test.parquet"),
    log:
        res("logs/split.log"),
    benchmark:
        res("benchmarks/split.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=io_mem_mb,
        runtime=io_runtime,
    params:
        **code("split"),
        n_val=config["split"]["n_val"],
        n_test=config["split"]["n_test"],
        seed=config["split"]["seed"],
    script:
        "../scripts/split.py"
