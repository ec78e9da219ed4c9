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
