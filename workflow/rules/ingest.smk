# Ingest: Landsat and MODIS scenes warped onto each tile's 30 m grid.


rule ingest:
    input:
        unpack(ingest_inventories),
    output:
        **ingest_outputs(tile_dir("ingest")),
    log:
        f"{LOGS}/ingest/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("ingest/{tile}_{year}")
    group:
        TILE_GROUP
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(250, per_mpx=80),
        runtime=runtime_min(5, per_scene_mpx=0.03),
    params:
        landsat=lambda w: scene_params(w, "landsat"),
        modis=lambda w: scene_params(w, "modis"),
        tile_km=config["grid"]["tile_km"],
        grid=GRID,
        ingest=config["ingest"],
        acquire=config["acquire"] if STAC else None,
    script:
        "../../scripts/ingest.py"
