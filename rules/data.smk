# Step 1: the playlists: the built-in synthetic dataset, or the user's file, read and checked.


rule synthetic:
    output:
        playlists=res("data/synthetic.npy"),
        metadata=res("data/synthetic_tracks.csv"),
        model=res("data/synthetic_model.npz"),
    log:
        res("logs/synthetic.log"),
    benchmark:
        res("benchmarks/synthetic.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=synthetic_mem_mb,
        runtime=synthetic_runtime,
    params:
        **code("synthetic"),
        preset=config["synthetic"]["preset"],
        seed=config["synthetic"]["seed"],
        n_playlists=config["synthetic"]["n_playlists"],
    script:
        "../scripts/synthetic.py"


rule load:
    input:
        playlists_file,
    output:
        res("playlists.parquet"),
    log:
        res("logs/load.log"),
    benchmark:
        res("benchmarks/load.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=io_mem_mb,
        runtime=io_runtime,
    params:
        **code("load"),
    script:
        "../scripts/load.py"
