# Crop type across regions and years without target labels (docs/adaptation.md): the
# target domains' unlabelled pixels per year, every case's methods and seeds, and the
# summary of all cases. The GHCA model of a case maps its target where adapt.maps says.


wildcard_constraints:
    case="|".join(ADAPT_CASES) if ADAPT_CASES else "-",


rule adapt_pool:
    input:
        unpack(adapt_pool_inputs),
    output:
        f"{R}/adapt/pool/{{year}}/{adapt_rules.POOL}",
    log:
        f"{LOGS}/adapt_pool/{{year}}.log",
    benchmark:
        benchmark_file("adapt_pool/{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(600),
        runtime=runtime_min(10, per_tile=0.2),
    params:
        **SEASON_PARAMS,
        kinds=list(classify_stack(TILES[0], YEARS[0])),
        regions=TILE_REGION,
        tile_km=config["grid"]["tile_km"],
        grid=GRID,
        per_tile=ADAPT.pool_per_tile,
        seed=config["seed"],
    script:
        "../../scripts/adapt_pool.py"


rule adapt:
    input:
        unpack(adapt_inputs),
    output:
        **{
            key: directory(path) if key == "model" else path
            for key, path in adapt_rules.case_outputs(adapt_dir()).items()
        },
    log:
        f"{LOGS}/adapt/{{case}}.log",
    benchmark:
        benchmark_file("adapt/{case}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(800),
        runtime=runtime_min(30),
    params:
        adapt=config["adapt"],
        seed=config["seed"],
    script:
        "../../scripts/adapt.py"


rule adapt_summary:
    input:
        **{
            f"{key}_{case}": adapt_rules.case_outputs(adapt_dir(case))[key]
            for case in ADAPT_CASES
            for key in ("scores", "reference")
        },
    output:
        **adapt_summary_outputs(),
    log:
        f"{LOGS}/adapt_summary.log",
    benchmark:
        benchmark_file("adapt_summary")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(300),
        runtime=runtime_min(5),
    params:
        adapt=config["adapt"],
    script:
        "../../scripts/adapt_summary.py"
