# Boundaries and the tile index.


localrules:
    boundaries,


rule boundaries:
    output:
        provinces=f"{R}/boundaries/provinces.gpkg",
        counties=f"{R}/boundaries/counties.gpkg",
    params:
        source=config["boundaries"]["source"],
        county_source=config["boundaries"]["county_source"],
        adcode_field=config["boundaries"]["adcode_field"],
        name_field=config["boundaries"]["name_field"],
        tiles=TILES,
        tile_km=config["grid"]["tile_km"],
    log:
        f"{LOGS}/boundaries.log",
    script:
        "../../scripts/boundaries.py"


rule tiles:
    input:
        provinces=rules.boundaries.output.provinces,
    output:
        f"{R}/tiles.gpkg",
    params:
        tiles=TILES,
        tile_km=config["grid"]["tile_km"],
    log:
        f"{LOGS}/tiles.log",
    script:
        "../../scripts/tiles.py"
