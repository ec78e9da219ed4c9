# The demo world: deterministic inputs in real file formats, and their truth.
# Active when the config says demo: true; production rules never read the truth.

from agrifactory.synthetic.landsat import SCENE_FILES

DEMO_SCENES = PLAN.inventory.query("sensor == 'landsat'")["id"].tolist() if DEMO else []
DEMO_MODIS = PLAN.inventory.query("sensor == 'modis'")["path"].tolist() if DEMO else []
WORLD = {
    "tiles": TILES,
    "tile_km": config["grid"]["tile_km"],
    "year": YEARS[0],
    "seed": config["seed"],
    "demo_world": config["demo_world"],
    "margin_days": config["ingest"]["margin_days"],
}
TRUTH_FILES = ["landcover", "cropland", "irrigation", "croptype", "ndvi_8day"]


def demo_targets():
    """Demo outputs that 'rule all' asks for (none outside demo mode)."""
    if not DEMO:
        return []
    return [
        rules.demo_inventory.output,
        rules.demo_truth.output,
        rules.demo_samples.output,
        rules.demo_statistics.output,
    ]


rule demo_truth:
    output:
        expand(f"{DEMO_TRUTH}/{{name}}.tif", name=TRUTH_FILES),
    params:
        world=WORLD,
    log:
        f"{LOGS}/demo/truth.log",
    script:
        "../../scripts/demo_truth.py"


rule demo_landsat_scene:
    output:
        expand(
            f"{DEMO_INPUTS}/landsat/{{{{scene}}}}/{{{{scene}}}}_{{suffix}}.TIF",
            suffix=SCENE_FILES,
        ),
    wildcard_constraints:
        scene=r"L[COTEM]0\d_L2S[PR]_\d{6}_\d{8}_\d{8}_\d{2}_T[12]",
    params:
        world=WORLD,
        out_dir=f"{DEMO_INPUTS}/landsat",
    log:
        f"{LOGS}/demo/landsat/{{scene}}.log",
    script:
        "../../scripts/demo_landsat.py"


rule demo_modis:
    output:
        DEMO_MODIS,
    params:
        world=WORLD,
        out_dir=f"{DEMO_INPUTS}/modis",
    log:
        f"{LOGS}/demo/modis.log",
    script:
        "../../scripts/demo_modis.py"


rule demo_samples:
    output:
        f"{DEMO_INPUTS}/samples.gpkg",
    params:
        world=WORLD,
    log:
        f"{LOGS}/demo/samples.log",
    script:
        "../../scripts/demo_samples.py"


rule demo_statistics:
    input:
        provinces=rules.boundaries.output.provinces,
        counties=rules.boundaries.output.counties,
    output:
        province=f"{DEMO_INPUTS}/statistics/province_cropland.csv",
        county=f"{DEMO_INPUTS}/statistics/county_cropland.csv",
    params:
        world=WORLD,
    log:
        f"{LOGS}/demo/statistics.log",
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
    params:
        landsat_dir=f"{DEMO_INPUTS}/landsat",
        modis_dir=f"{DEMO_INPUTS}/modis",
    log:
        f"{LOGS}/demo/inventory.log",
    script:
        "../../scripts/demo_inventory.py"
