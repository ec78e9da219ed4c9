# Smoothing (HANTS) of the fused series (or the NDVI cube), and the feature stack for
# classification.


rule smooth:
    input:
        fused=ndvi_series(),
    output:
        **smooth_outputs(tile_dir("smooth")),
    log:
        f"{LOGS}/smooth/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("smooth/{tile}_{year}")
    group:
        FEATURES_GROUP
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(450, per_mpx=100),
        runtime=runtime_min(5, per_mpx=2),
        gpu=gpus(1, backend=config["timeseries"]["backend"]),
    params:
        **SEASON_PARAMS,
        hants=config["timeseries"]["hants"],
        backend=config["timeseries"]["backend"],
        block_rows=config["timeseries"]["block_rows"],
    script:
        "../../scripts/smooth.py"


rule features:
    input:
        fused=ndvi_series(),
        coefficients=rules.smooth.output.coefficients,
    output:
        **features_outputs(tile_dir("features")),
    log:
        f"{LOGS}/features/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("features/{tile}_{year}")
    group:
        FEATURES_GROUP
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(500, per_mpx=110),
        runtime=runtime_min(5, per_mpx=2),
        gpu=gpus(1, backend=config["timeseries"]["backend"]),
    params:
        **SEASON_PARAMS,
        hants=config["timeseries"]["hants"],
        pheno=config["timeseries"]["pheno"],
        backend=config["timeseries"]["backend"],
        block_rows=config["timeseries"]["block_rows"],
    script:
        "../../scripts/features.py"


rule composites:
    input:
        unpack(composites_inputs),
    output:
        **composites_outputs(tile_dir("composites")),
    log:
        f"{LOGS}/composites/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("composites/{tile}_{year}")
    group:
        FEATURES_GROUP
    conda:
        ENV
    threads: 1
    resources:
        # Peak 554 MB on a 500 x 500 demo tile with 64-row blocks (23 dates); a block
        # adds ~1.9 kB per pixel, so 64 rows of a 4000-px-wide tile ~0.9 GB.
        mem_mb=mem_mb(600, per_mpx=25),
        runtime=runtime_min(5, per_mpx=2),
    params:
        **SEASON_PARAMS,
        composites=config["timeseries"]["composites"],
    script:
        "../../scripts/composites.py"
