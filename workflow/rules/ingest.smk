# Ingest: Landsat and MODIS scenes warped onto each tile's 30 m grid.

INGEST_STACKS = [
    "landsat_blue",
    "landsat_red",
    "landsat_nir",
    "landsat_thermal",
    "landsat_qa_pixel",
    "landsat_qa_radsat",
    "landsat_ndvi",
    "modis_ndvi",
]


def ingest_targets():
    return per_tile(f"{tile_dir('ingest')}/inventory.csv")


def scene_records(wildcards, sensor):
    """Inventory rows of one tile-year as plain records (rule params)."""
    rows = PLAN.scenes(wildcards.tile, int(wildcards.year), sensor)
    return rows.drop(columns=["geometry", "footprint"]).astype(str).to_dict("records")


rule ingest:
    input:
        landsat=lambda w: PLAN.landsat_inputs(w.tile, int(w.year)),
        modis=lambda w: PLAN.modis_inputs(w.tile, int(w.year)),
    output:
        **{name: f"{tile_dir('ingest')}/{name}.tif" for name in INGEST_STACKS},
        inventory=f"{tile_dir('ingest')}/inventory.csv",
    params:
        landsat=lambda w: scene_records(w, "landsat"),
        modis=lambda w: scene_records(w, "modis"),
        tile_km=config["grid"]["tile_km"],
        ingest=config["ingest"],
    log:
        f"{LOGS}/ingest/{{tile}}_{{year}}.log",
    script:
        "../../scripts/ingest.py"
