# Step 9: radios from the best entry, one per seed song of config key radio.seeds:
# results/radio/<seed-slug>.m3u8 (previews), .json (the walk and its measures) and .html (a
# player page); and results/radio/quality.tsv, today's walk and the radio measured from
# radio.quality_seeds popular songs, with its report page.


rule radio:
    input:
        best=res("best.json"),
        models=entry_models,
        vocab=res("vocab.parquet"),
        metadata=metadata_file,
        generator=generator_file,
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
        anchor=config["radio"]["anchor"],
        max_artist_run=config["radio"]["max_artist_run"],
        max_per_artist=config["radio"]["max_per_artist"],
        metric=config["evaluate"]["metric"],
    script:
        "../scripts/radio.py"


rule radio_quality:
    input:
        best=res("best.json"),
        models=entry_models,
        vocab=res("vocab.parquet"),
        metadata=metadata_file,
        generator=generator_file,
        train=res("split/train.parquet"),
    output:
        tsv=res("radio/quality.tsv"),
        html=report(
            res("report/radio_quality.html"),
            caption="../report/radio_quality.rst",
            category="5. Radio",
            labels={"seed": "quality table"},
        ),
    log:
        res("logs/radio_quality.log"),
    benchmark:
        res("benchmarks/radio_quality.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=radio_quality_mem_mb,
        runtime=test_runtime,
    params:
        **code("radio_quality"),
        entries=list(ENTRIES),
        quality_seeds=config["radio"]["quality_seeds"],
        quality_among=config["radio"]["quality_among"],
        nb_steps=config["radio"]["nb_steps"],
        nb_candidates=config["radio"]["nb_candidates"],
        seed=config["radio"]["seed"],
        anchor=config["radio"]["anchor"],
        max_artist_run=config["radio"]["max_artist_run"],
        max_per_artist=config["radio"]["max_per_artist"],
        metric=config["evaluate"]["metric"],
    script:
        "../scripts/radio_quality.py"
