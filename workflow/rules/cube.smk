# An NDVI time series given as one raster per date (inputs.ndvi_cube), put on each
# tile's grid; it replaces ingest, quality and fusion (agrifactory.ingest.cube).


rule ndvi_cube:
    input:
        lambda w: [path for _, path in cube_files(w)],
    output:
        **in_folder(tile_dir("cube"), CUBE_OUTPUTS),
    log:
        f"{LOGS}/ndvi_cube/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("ndvi_cube/{tile}_{year}")
    group:
        FEATURES_GROUP
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(250, per_mpx=80),
        runtime=runtime_min(5, per_mpx=1),
    params:
        cube=CUBE,
        files=cube_files,
        tile_km=config["grid"]["tile_km"],
        grid=GRID,
    script:
        "../../scripts/ndvi_cube.py"
