# Integration (CropLayer): other cropland products on each tile's grid, block features,
# block correctness (fan-in), the per-pixel integration model (fan-in), the integrated map.


rule semantic_blocks:
    input:
        unpack(integration_tile_inputs),
    output:
        **integration_rules.blocks_outputs(tile_dir("integration")),
    log:
        f"{LOGS}/semantic_blocks/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("semantic_blocks/{tile}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(400, per_mpx=400),
        runtime=runtime_min(10, per_mpx=2),
    params:
        integration=config["integration"],
        tile_km=config["grid"]["tile_km"],
        grid=GRID,
        region=lambda wildcards: TILE_REGION_CODE[wildcards.tile],
    script:
        "../../scripts/semantic_blocks.py"


rule semantic_model:
    input:
        blocks=integration_blocks,
        map_blocks=integration_map_blocks,
        reference=INTEGRATION.reference_blocks or "no_reference_blocks",
    output:
        **integration_year_outputs(
            integration_rules.semantic_outputs,
            "integration_correctness.rst",
            "block correctness",
        ),
    log:
        f"{LOGS}/semantic_model/{{year}}.log",
    benchmark:
        benchmark_file("semantic_model/{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(400),
        runtime=runtime_min(10, per_tile=0.05),
    params:
        integration=config["integration"],
        grid=GRID,
    script:
        "../../scripts/semantic_model.py"


rule integration_model:
    input:
        blocks=integration_blocks,
        samples=integration_samples,
        oof=integration_oof,
    output:
        **integration_year_outputs(
            integration_rules.integration_model_outputs,
            "integration_accuracy.rst",
            "accuracy of every map",
        ),
    log:
        f"{LOGS}/integration_model/{{year}}.log",
    benchmark:
        benchmark_file("integration_model/{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(400),
        runtime=runtime_min(10, per_tile=0.05),
    params:
        integration=config["integration"],
    script:
        "../../scripts/integration_model.py"


rule integrate:
    input:
        cropland=lambda w: integration_tile_inputs(w)["cropland"],
        proba=lambda w: integration_tile_inputs(w)["proba"],
        sources=integration_rules.blocks_outputs(tile_dir("integration"))["sources"],
        blocks=integration_rules.blocks_outputs(tile_dir("integration"))["blocks"],
        model=integration_rules.integration_model_outputs(integration_year_dir())[
            "model"
        ],
    output:
        **integration_rules.integrate_outputs(tile_dir("integration")),
    log:
        f"{LOGS}/integrate/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("integrate/{tile}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(400, per_mpx=600),
        runtime=runtime_min(10, per_mpx=5),
    params:
        integration=config["integration"],
        tile_km=config["grid"]["tile_km"],
        grid=GRID,
    script:
        "../../scripts/integrate.py"
