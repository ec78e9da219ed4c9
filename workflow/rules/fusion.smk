# Fusion: ESTARFM 30 m 8-day NDVI from Landsat and MODIS, per tile and year.


rule fuse:
    input:
        landsat=f"{tile_dir('ingest')}/landsat_ndvi.tif",
        modis=f"{tile_dir('ingest')}/modis_ndvi.tif",
        pairs=lambda w: fusion_pairs_table(w),
        validation_pairs=f"{tile_dir('quality')}/validation_pairs.csv",
        quality_mask=f"{tile_dir('quality')}/mask.tif",
    output:
        ndvi=f"{tile_dir('fusion')}/ndvi_8day.tif",
        flags=f"{tile_dir('fusion')}/flags.tif",
        qa=f"{tile_dir('fusion')}/qa.csv",
        validation=f"{tile_dir('fusion')}/validation.csv",
    log:
        f"{LOGS}/fuse/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("fuse/{tile}_{year}")
    group:
        FEATURES_GROUP
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(1800, per_mpx=140),
        runtime=runtime_min(5, per_mpx=5),
        gpu=gpus(1, backend=config["fusion"]["backend"]),
    params:
        fusion=config["fusion"],
    script:
        "../../scripts/fuse.py"
