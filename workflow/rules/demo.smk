# The demo world: deterministic inputs in real file formats, and their truth.
# Active when the config says demo: true; production rules never read the truth.


# Scanning the generated files is quick: no cluster job for it.
localrules:
    demo_inventory,


# The land's truth does not depend on the year (params without it), the NDVI's does.
rule demo_truth:
    output:
        expand(f"{DEMO_TRUTH}/{{name}}.tif", name=demo_rules.TRUTH_CLASSES),
    log:
        f"{LOGS}/demo/truth.log",
    benchmark:
        benchmark_file("demo/truth")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(270, per_mpx=520, mpx=DEMO_MPX),
        runtime=runtime_min(5, per_mpx=10, mpx=DEMO_MPX),
    params:
        world=WORLD,
    script:
        "../../scripts/demo_truth.py"


rule demo_truth_year:
    output:
        **in_folder(f"{DEMO_TRUTH}/{{year}}", demo_rules.TRUTH_YEAR),
    log:
        f"{LOGS}/demo/truth_{{year}}.log",
    benchmark:
        benchmark_file("demo/truth_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(270, per_mpx=520, mpx=DEMO_MPX),
        runtime=runtime_min(5, per_mpx=10, mpx=DEMO_MPX),
    params:
        world=WORLD,
    script:
        "../../scripts/demo_truth_year.py"


rule demo_landsat_scene:
    output:
        expand(
            f"{DEMO_INPUTS}/landsat/{{{{scene}}}}/{{{{scene}}}}_{{suffix}}.TIF",
            suffix=SCENE_FILES,
        ),
        f"{DEMO_INPUTS}/landsat/{{scene}}/{{scene}}_{SCENE_MTL}",
    log:
        f"{LOGS}/demo/landsat/{{scene}}.log",
    benchmark:
        benchmark_file("demo/landsat/{scene}")
    wildcard_constraints:
        scene=r"L[COTEM]0\d_L2S[PR]_\d{6}_\d{8}_\d{8}_\d{2}_T[12]",
    group:
        "demo_scenes"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(210, per_mpx=130, mpx=DEMO_MPX),
        runtime=runtime_min(5, per_mpx=10, mpx=DEMO_MPX),
    params:
        world=WORLD_SCENES,
    script:
        "../../scripts/demo_landsat.py"


# One job per calendar year of composites: a run year's margins read its neighbours'.
rule demo_modis:
    output:
        [f"{DEMO_INPUTS}/modis/{{cyear}}/{name}" for name in DEMO_MODIS_NAMES],
    log:
        f"{LOGS}/demo/modis_{{cyear}}.log",
    benchmark:
        benchmark_file("demo/modis_{cyear}")
    wildcard_constraints:
        cyear=r"\d{4}",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(210, per_mpx=120, mpx=DEMO_MPX),
        runtime=runtime_min(5, per_mpx=10, mpx=DEMO_MPX),
    params:
        world=WORLD,
    script:
        "../../scripts/demo_modis.py"


rule demo_samples:
    output:
        f"{DEMO_INPUTS}/{demo_rules.SAMPLES}",
    log:
        f"{LOGS}/demo/samples.log",
    benchmark:
        benchmark_file("demo/samples")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(250, per_mpx=120, mpx=DEMO_MPX),
        runtime=runtime_min(5, per_mpx=10, mpx=DEMO_MPX),
    params:
        world=WORLD,
    script:
        "../../scripts/demo_samples.py"


rule demo_statistics:
    input:
        provinces=rules.boundaries.output.provinces,
        counties=rules.boundaries.output.counties,
    output:
        **in_folder(DEMO_INPUTS, demo_rules.STATISTICS),
    log:
        f"{LOGS}/demo/statistics_{{year}}.log",
    benchmark:
        benchmark_file("demo/statistics_{year}")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(320, per_mpx=150, mpx=DEMO_MPX),
        runtime=runtime_min(5, per_mpx=10, mpx=DEMO_MPX),
    params:
        world=WORLD,
    script:
        "../../scripts/demo_statistics.py"


rule demo_inventory:
    input:
        landsat=lambda wc: expand(
            f"{DEMO_INPUTS}/landsat/{{scene}}/{{scene}}_{{suffix}}.TIF",
            scene=demo_year_files(wc.year, "landsat"),
            suffix=SCENE_FILES,
        ),
        mtl=lambda wc: expand(
            f"{DEMO_INPUTS}/landsat/{{scene}}/{{scene}}_{SCENE_MTL}",
            scene=demo_year_files(wc.year, "landsat"),
        ),
        modis=lambda wc: demo_year_files(wc.year, "modis"),
    output:
        **in_folder(f"{DEMO_INPUTS}/{demo_rules.INVENTORY_DIR}", demo_rules.INVENTORIES),
    log:
        f"{LOGS}/demo/inventory_{{year}}.log",
    benchmark:
        benchmark_file("demo/inventory_{year}")
    conda:
        ENV
    script:
        "../../scripts/demo_inventory.py"


# The third-party cropland products of the run's year (dated: params with the year)
# and the reference blocks of the integration stage (not dated; block_m from the
# validated settings, so a config without an integration section still parses).
DEMO_PRODUCTS_DIR = f"{DEMO_INPUTS}/{demo_rules.PRODUCTS_DIR}"
#: The year of each demo product's edition (the config's, else from the first year).
DEMO_EDITIONS = demo_rules.demo_editions(INTEGRATION.products, YEARS[0])
#: Rule demo_products' outputs: two folders of tiles and one file.
DEMO_PRODUCTS = {
    "worldcover": f"{DEMO_PRODUCTS_DIR}/{demo_rules.WORLDCOVER_DIR}",
    "clcd": f"{DEMO_PRODUCTS_DIR}/{demo_rules.CLCD_DIR}",
    "gfsad": f"{DEMO_PRODUCTS_DIR}/{demo_rules.gfsad_file(DEMO_EDITIONS['gfsad'])}",
}


rule demo_products:
    input:
        provinces=rules.boundaries.output.provinces,
    output:
        worldcover=directory(DEMO_PRODUCTS["worldcover"]),
        clcd=directory(DEMO_PRODUCTS["clcd"]),
        gfsad=DEMO_PRODUCTS["gfsad"],
    log:
        f"{LOGS}/demo/products.log",
    benchmark:
        benchmark_file("demo/products")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(270, per_mpx=520, mpx=DEMO_MPX),
        runtime=runtime_min(5, per_mpx=10, mpx=DEMO_MPX),
    params:
        world=WORLD,
        editions=DEMO_EDITIONS,
    script:
        "../../scripts/demo_products.py"


rule demo_reference_blocks:
    output:
        f"{DEMO_INPUTS}/{demo_rules.REFERENCE_BLOCKS}",
    log:
        f"{LOGS}/demo/reference_blocks.log",
    benchmark:
        benchmark_file("demo/reference_blocks")
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=mem_mb(270, per_mpx=520, mpx=DEMO_MPX),
        runtime=runtime_min(5, per_mpx=10, mpx=DEMO_MPX),
    params:
        world=WORLD,
        block_m=INTEGRATION.block_m,
    script:
        "../../scripts/demo_reference_blocks.py"
