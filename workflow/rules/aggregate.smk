# Aggregation: class areas per province and county, compared with official statistics.


rule aggregate_tile:
    input:
        unpack(classify_products),
        provinces=rules.boundaries.output.provinces,
        counties=rules.boundaries.output.counties,
    output:
        f"{tile_dir('aggregate')}/{aggregate_rules.PARTIAL}",
    log:
        f"{LOGS}/aggregate_tile/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("aggregate_tile/{tile}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(250, per_mpx=60),
        runtime=runtime_min(5, per_mpx=1),
    params:
        method=config["aggregate"]["method"],
        products=config["aggregate"]["products"],
        levels=config["aggregate"]["levels"],
        tile_km=config["grid"]["tile_km"],
        grid=GRID,
    script:
        "../../scripts/aggregate_tile.py"


rule aggregate:
    input:
        unpack(aggregate_inputs),
    output:
        **aggregate_outputs(),
    log:
        f"{LOGS}/aggregate/{{year}}.log",
    benchmark:
        benchmark_file("aggregate/{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(300),
        runtime=runtime_min(10, per_tile=0.02),
    params:
        aggregate=config["aggregate"],
        compared=compared_levels(),
    script:
        "../../scripts/aggregate.py"


# CropLayer: the cropland area of every map of the integration stage (the factory's
# own, the other products, the majority vote, the integrated map) per unit, beside
# the official statistics.


rule aggregate_sources_tile:
    input:
        maps=integration_rules.integrate_outputs(tile_dir("integration"))["maps"],
        provinces=rules.boundaries.output.provinces,
        counties=rules.boundaries.output.counties,
    output:
        f"{tile_dir('aggregate')}/{aggregate_rules.SOURCES_PARTIAL}",
    log:
        f"{LOGS}/aggregate_sources_tile/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("aggregate_sources_tile/{tile}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(250, per_mpx=60),
        runtime=runtime_min(5, per_mpx=2),
    params:
        method=config["aggregate"]["method"],
        levels=config["aggregate"]["levels"],
        tile_km=config["grid"]["tile_km"],
        grid=GRID,
    script:
        "../../scripts/aggregate_sources_tile.py"


rule aggregate_sources:
    input:
        unpack(aggregate_sources_inputs),
    output:
        **sources_outputs(),
    log:
        f"{LOGS}/aggregate_sources/{{year}}.log",
    benchmark:
        benchmark_file("aggregate_sources/{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(300),
        runtime=runtime_min(10, per_tile=0.02),
    params:
        aggregate=config["aggregate"],
        compared=compared_levels(),
    script:
        "../../scripts/aggregate_sources.py"
