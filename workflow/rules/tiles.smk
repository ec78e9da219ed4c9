# Boundaries and the tile index.


localrules:
    boundaries,


rule boundaries:
    output:
        provinces=f"{R}/boundaries/provinces.gpkg",
        counties=f"{R}/boundaries/counties.gpkg",
    log:
        f"{LOGS}/boundaries.log",
    benchmark:
        benchmark_file("boundaries")
    conda:
        ENV
    params:
        source=config["boundaries"]["source"],
        county_source=config["boundaries"]["county_source"],
        adcode_field=config["boundaries"]["adcode_field"],
        name_field=config["boundaries"]["name_field"],
        tiles=TILES,
        tile_km=config["grid"]["tile_km"],
        grid=GRID,
    script:
        "../../scripts/boundaries.py"


rule tiles:
    input:
        provinces=rules.boundaries.output.provinces,
    output:
        f"{R}/tiles.gpkg",
    log:
        f"{LOGS}/tiles.log",
    benchmark:
        benchmark_file("tiles")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(300),
        runtime=runtime_min(5, per_tile=0.01),
    params:
        tiles=TILES,
        tile_km=config["grid"]["tile_km"],
        grid=GRID,
    script:
        "../../scripts/tiles.py"
