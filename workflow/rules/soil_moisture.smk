# Soil moisture: LightGBM downscaling of a 0.25 degree reanalysis to daily 1 km,
# then a CNN bias correction against stations (docs/soil-moisture.md).


rule demo_soil_static:
    output:
        **SM_DEMO_STATIC,
    log:
        f"{LOGS}/demo/soil_static.log",
    benchmark:
        benchmark_file("demo/soil_static")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(500),
        runtime=runtime_min(5),
    params:
        world=SM_STATIC_WORLD,
    script:
        "../../scripts/demo_soil_static.py"


rule demo_soil_moisture:
    output:
        **{
            k: v
            for k, v in SM_DEMO_FILES.items()
            if k not in ("stations", "truth", "stations_truth", *SM_DEMO_STATIC)
        },
        stations=directory(SM_DEMO_FILES["stations"]),
        truth=SM_DEMO_FILES["truth"],
        stations_truth=SM_DEMO_FILES["stations_truth"],
    log:
        f"{LOGS}/demo/soil_moisture.log",
    benchmark:
        benchmark_file("demo/soil_moisture")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(1500),
        runtime=runtime_min(15),
    params:
        world=SM_WORLD,
    script:
        "../../scripts/demo_soil_moisture.py"


rule sm_train:
    input:
        unpack(sm_inputs),
    output:
        in_folder(sm_models(), sm_rules.MODEL_OUTPUTS)["downscaler"],
    log:
        f"{LOGS}/sm_train/{{year}}.log",
    benchmark:
        benchmark_file("sm_train/{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(2000),
        runtime=runtime_min(60),
    params:
        **sm_rules.train_params(SM, config["seed"]),
    script:
        "../../scripts/sm_train.py"


rule sm_downscale:
    input:
        unpack(sm_inputs),
        model=rules.sm_train.output[0],
    output:
        sm_tile_outputs()["downscaled"],
    log:
        f"{LOGS}/sm_downscale/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("sm_downscale/{tile}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(1000),
        runtime=runtime_min(30),
    params:
        **sm_rules.downscale_params(SM, config["grid"]["tile_km"]),
    script:
        "../../scripts/sm_downscale.py"


rule sm_bias_train:
    input:
        unpack(sm_station_inputs),
    output:
        cnn=in_folder(sm_models(), sm_rules.MODEL_OUTPUTS)["cnn"],
        evaluation=in_folder(sm_dir(), sm_rules.YEAR_OUTPUTS)["evaluation"],
        series=in_folder(sm_dir(), sm_rules.YEAR_OUTPUTS)["series"],
    log:
        f"{LOGS}/sm_bias_train/{{year}}.log",
    benchmark:
        benchmark_file("sm_bias_train/{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(2000),
        runtime=runtime_min(120),
    params:
        **sm_rules.bias_train_params(SM, config["seed"]),
    script:
        "../../scripts/sm_bias_train.py"


rule sm_calibrate:
    input:
        unpack(sm_driver_inputs),
        downscaled=rules.sm_downscale.output[0],
        cnn=rules.sm_bias_train.output.cnn,
        neighbours=sm_neighbours,
    output:
        sm_tile_outputs()["calibrated"],
    log:
        f"{LOGS}/sm_calibrate/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("sm_calibrate/{tile}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(1000),
        runtime=runtime_min(30),
    params:
        batch_days=SM.bias_correction.batch_days,
    script:
        "../../scripts/sm_calibrate.py"


rule sm_plots:
    input:
        rules.sm_bias_train.output.series,
    output:
        report(
            in_folder(sm_dir(), sm_rules.YEAR_OUTPUTS)["plot"],
            caption="../report/sm_station_series.rst",
            category="Soil moisture",
            subcategory="{year}",
            labels={"figure": "station series"},
        ),
    log:
        f"{LOGS}/sm_plots/{{year}}.log",
    benchmark:
        benchmark_file("sm_plots/{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(500),
        runtime=runtime_min(10),
    params:
        plots=SM.plots.model_dump(),
    script:
        "../../scripts/sm_plots.py"
