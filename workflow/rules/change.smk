# Year-to-year change (docs/change.md): every tile's class transitions from the
# previous run year, flagged blocks, and per year the transitions per province and
# county. A year runs when the year before it is a run year too (none with one year).


rule change_tile:
    input:
        unpack(change_tile_inputs),
    output:
        **change_tile_files(),
    log:
        f"{LOGS}/change_tile/{{tile}}_{{year}}.log",
    benchmark:
        benchmark_file("change_tile/{tile}_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(300, per_mpx=80),
        runtime=runtime_min(5, per_mpx=2),
    params:
        change=config["change"],
        method=config["aggregate"]["method"],
        levels=config["aggregate"]["levels"],
        tile_km=config["grid"]["tile_km"],
        grid=GRID,
    script:
        "../../scripts/change_tile.py"


rule change:
    input:
        unpack(change_inputs),
    output:
        **change_outputs(),
    log:
        f"{LOGS}/change/{{year}}.log",
    benchmark:
        benchmark_file("change/{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(300),
        runtime=runtime_min(5, per_tile=0.02),
    params:
        change=config["change"],
        levels=config["aggregate"]["levels"],
    script:
        "../../scripts/change.py"
