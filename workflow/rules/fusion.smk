# Fusion: ESTARFM 30 m 8-day NDVI from Landsat and MODIS, per tile and year.


rule fuse:
    input:
        landsat=rules.ingest.output.landsat_ndvi,
        modis=rules.ingest.output.modis_ndvi,
        pairs=lambda w: fusion_pairs_table(w),
        validation_pairs=rules.quality.output.validation_pairs,
        quality_mask=rules.quality.output.mask,
    output:
        **fuse_outputs(tile_dir("fusion")),
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
