# Ingest: Landsat and MODIS scenes warped onto each tile's 30 m grid.


rule ingest:
    input:
        landsat=lambda w: PLAN.landsat_inputs(w.tile, int(w.year)),
        modis=lambda w: PLAN.modis_inputs(w.tile, int(w.year)),
    output:
        **{name: f"{tile_dir('ingest')}/{name}.tif" for name in INGEST_STACKS},
        inventory=f"{tile_dir('ingest')}/inventory.csv",
    log:
        f"{LOGS}/ingest/{{tile}}_{{year}}.log",
    conda:
        ENV
    params:
        landsat=lambda w: scene_records(w, "landsat"),
        modis=lambda w: scene_records(w, "modis"),
        tile_km=config["grid"]["tile_km"],
        ingest=config["ingest"],
    script:
        "../../scripts/ingest.py"
