# Acquisition (inputs.source: stac): one STAC search per sensor and year over the
# run's tiles, written as the inventories the ingest reads (asset URLs). A
# checkpoint: the tile-years' scenes are known only once it has run.


checkpoint acquire:
    output:
        **acquire_outputs(f"{R}/acquire/{{year}}"),
    log:
        f"{LOGS}/acquire/{{year}}.log",
    benchmark:
        benchmark_file("acquire/{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(200),
        runtime=runtime_min(10),
    params:
        acquire=config["acquire"],
        margin_days=config["ingest"]["margin_days"],
        bbox=PLAN.search_bbox() if STAC else [],
    script:
        "../../scripts/acquire.py"
