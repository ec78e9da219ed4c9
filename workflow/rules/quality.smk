# Quality: scene scores, per-pixel quality masks, the learned scorer, base pairs.


rule quality_scorer:
    input:
        unpack(scorer_inputs),
    output:
        **scorer_outputs(scorer_dir("{year}")),
    log:
        f"{LOGS}/quality_scorer/{{year}}.log",
    benchmark:
        benchmark_file("quality_scorer/{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(700, per_mpx=1000),
        runtime=runtime_min(10, per_tile=0.5),
    params:
        quality=config["quality"],
        seed=config["seed"],
    script:
        "../../scripts/quality_scorer.py"


rule quality:
    input:
        unpack(quality_inputs),
    output:
        **quality_outputs(tile_dir("quality")),
    log:
        f"{LOGS}/quality/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("quality/{tile}_{year}")
    group:
        FEATURES_GROUP
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(650, per_mpx=2000),
        runtime=runtime_min(5, per_mpx=2),
    params:
        quality=config["quality"],
    script:
        "../../scripts/quality.py"
