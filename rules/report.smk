# Step 10: the figures and tables of the Snakemake report, under results/report/:
#   snakemake --report results/report.html
# (the radio pages are flagged for the report in rules/radio.smk; captions in report/).


rule report:
    input:
        grid=res("grid.tsv"),
        best=res("best.json"),
        test=res("test_score.json"),
        train_logs=all_train_logs,
        vocab=res("vocab.parquet"),
        embeddings=sgns_embeddings,
        generator=generator_file,
        metadata=metadata_file,
    output:
        grid=report(
            res("report/grid.html"),
            caption="../report/grid.rst",
            category="1. Grid",
            labels={"figure": "grid table"},
        ),
        scores=report(
            res("report/scores.png"),
            caption="../report/scores.rst",
            category="1. Grid",
            labels={"figure": "validation scores"},
        ),
        hyperparameters=report(
            res("report/hyperparameters.png"),
            caption="../report/hyperparameters.rst",
            category="1. Grid",
            labels={"figure": "hyperparameters"},
        ),
        loss=report(
            res("report/loss.png"),
            caption="../report/loss.rst",
            category="2. Training",
            labels={"figure": "training loss"},
        ),
        test=report(
            res("report/test_score.png"),
            caption="../report/test_score.rst",
            category="3. Test score",
            labels={"figure": "test score"},
        ),
        test_table=report(
            res("report/test_score.html"),
            caption="../report/test_score.rst",
            category="3. Test score",
            labels={"figure": "test score table"},
        ),
        map=report(
            res("report/embedding_map.png"),
            caption="../report/embedding_map.rst",
            category="4. Embedding",
            labels={"figure": "2-D map"},
        ),
    log:
        res("logs/report.log"),
    benchmark:
        res("benchmarks/report.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=report_mem_mb,
        runtime=report_runtime,
    params:
        **code("report"),
        runs=RUNS,
        sgns=SGNS_ENTRIES,
        defaults=config["defaults"],
        best_metric=config["best"]["metric"],
        metric=config["evaluate"]["metric"],
        map_songs=config["report"]["map_songs"],
    script:
        "../scripts/report.py"
