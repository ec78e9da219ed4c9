# The demo world: deterministic inputs in real file formats, and their truth.
# Active when the config says demo: true; production rules never read the truth.


rule demo_truth:
    output:
        expand(f"{DEMO_TRUTH}/{{name}}.tif", name=TRUTH_FILES),
    log:
        f"{LOGS}/demo/truth.log",
    conda:
        ENV
    params:
        world=WORLD,
    script:
        "../../scripts/demo_truth.py"


rule demo_landsat_scene:
    output:
        expand(
            f"{DEMO_INPUTS}/landsat/{{{{scene}}}}/{{{{scene}}}}_{{suffix}}.TIF",
            suffix=SCENE_FILES,
        ),
    log:
        f"{LOGS}/demo/landsat/{{scene}}.log",
    wildcard_constraints:
        scene=r"L[COTEM]0\d_L2S[PR]_\d{6}_\d{8}_\d{8}_\d{2}_T[12]",
    conda:
        ENV
    params:
        world=WORLD,
    script:
        "../../scripts/demo_landsat.py"


rule demo_modis:
    output:
        DEMO_MODIS,
    log:
        f"{LOGS}/demo/modis.log",
    conda:
        ENV
    params:
        world=WORLD,
    script:
        "../../scripts/demo_modis.py"


rule demo_samples:
    output:
        f"{DEMO_INPUTS}/samples.gpkg",
    log:
        f"{LOGS}/demo/samples.log",
    conda:
        ENV
    params:
        world=WORLD,
    script:
        "../../scripts/demo_samples.py"


rule demo_statistics:
    input:
        provinces=rules.boundaries.output.provinces,
        counties=rules.boundaries.output.counties,
    output:
        province=f"{DEMO_INPUTS}/statistics/province_cropland.csv",
        county=f"{DEMO_INPUTS}/statistics/county_cropland.csv",
    log:
        f"{LOGS}/demo/statistics.log",
    conda:
        ENV
    params:
        world=WORLD,
    script:
        "../../scripts/demo_statistics.py"


rule demo_inventory:
    input:
        landsat=expand(
            f"{DEMO_INPUTS}/landsat/{{scene}}/{{scene}}_{{suffix}}.TIF",
            scene=DEMO_SCENES,
            suffix=SCENE_FILES,
        ),
        modis=DEMO_MODIS,
    output:
        landsat=f"{DEMO_INPUTS}/landsat_inventory.csv",
        modis=f"{DEMO_INPUTS}/modis_inventory.csv",
    log:
        f"{LOGS}/demo/inventory.log",
    conda:
        ENV
    script:
        "../../scripts/demo_inventory.py"
