# Step 9: radios from the best entry, one per seed song of config key radio.seeds:
# results/radio/<seed-slug>.m3u8 (previews), .json (the walk) and .html (a player page).


rule radio:
    input:
        best=res("best.json"),
        models=entry_models,
        vocab=res("vocab.parquet"),
        metadata=metadata_file,
        train=res("split/train.parquet"),
    output:
        m3u8=res("radio/{slug}.m3u8"),
        json=res("radio/{slug}.json"),
        html=report(
            res("radio/{slug}.html"),
            caption="../report/radio.rst",
            category="5. Radio",
            labels={"seed": "{slug}"},
        ),
    log:
        res("logs/radio/{slug}.log"),
    benchmark:
        res("benchmarks/radio/{slug}.tsv")
    wildcard_constraints:
        slug="[a-z0-9][a-z0-9-]*",
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=radio_mem_mb,
        runtime=test_runtime,
    params:
        **code("radio"),
        entries=list(ENTRIES),
        query=radio_seed,
        nb_steps=config["radio"]["nb_steps"],
        nb_candidates=config["radio"]["nb_candidates"],
        seed=config["radio"]["seed"],
        metric=config["evaluate"]["metric"],
    script:
        "../scripts/radio.py"
