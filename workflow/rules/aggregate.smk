# Aggregation: class areas per province and county, compared with official statistics.


rule aggregate_tile:
    input:
        unpack(classify_products),
        provinces=rules.boundaries.output.provinces,
        counties=rules.boundaries.output.counties,
    output:
        f"{tile_dir('aggregate')}/areas.csv",
    log:
        f"{LOGS}/aggregate_tile/{{tile}}_{{year}}.log",
    conda:
        ENV
    params:
        method=config["aggregate"]["method"],
        products=config["aggregate"]["products"],
        levels=config["aggregate"]["levels"],
        tile_km=config["grid"]["tile_km"],
    script:
        "../../scripts/aggregate_tile.py"


rule aggregate:
    input:
        unpack(aggregate_inputs),
    output:
        **aggregate_outputs(),
    log:
        f"{LOGS}/aggregate/{{year}}.log",
    conda:
        ENV
    params:
        aggregate=config["aggregate"],
        levels=config["aggregate"]["levels"],
        compared=compared_levels(),
    script:
        "../../scripts/aggregate.py"
