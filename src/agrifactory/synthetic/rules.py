"""The demo world's contract: its output names and one function per rule.

Rules (``workflow/rules/demo.smk``; active when the config says ``demo: true``):

``demo_truth``
    The truth rasters of the land (:data:`TRUTH_CLASSES`): the same for every year.
``demo_truth_year``
    The truth of one year (:data:`TRUTH_YEAR`): its 8-day NDVI and its crops (the
    crops rotate from year to year; the land does not change).
``demo_landsat_scene``, ``demo_modis``
    Landsat scenes and MODIS composites in their real file formats, each drawn from the
    world of its own calendar year (one rule job per scene, per calendar year of
    composites), so a run year's margins share files with its neighbours.
``demo_samples``
    Labelled sample points (:data:`SAMPLES`) of demo_world's label and validation-only
    years, with a ``year`` column: the same whatever the run's years.
``demo_statistics``
    Official cropland statistics per province and county (:data:`STATISTICS`),
    dated to the year.
``demo_inventory``
    The inventories of a run year's generated scenes and composites
    (:data:`INVENTORIES`, in ``inventory/<year>/``).
``demo_products``
    Three third-party cropland products made from the truth, each with the errors of
    its kind, in the real products' file layouts (:data:`PRODUCTS_DIR`; dated).
``demo_reference_blocks``
    Reference blocks with the truth's cropland fraction (:data:`REFERENCE_BLOCKS`).

Every rule receives the world as a plain ``world`` param. The rules whose files
do not depend on the year (the land's truth, the samples) receive it without the
year, so a change of the config's ``years`` does not rerun them.

The settings of the demo world are :class:`agrifactory.config.DemoWorldSettings`.
This module imports no heavy library at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Truth rasters of the land, in the truth folder (``<name>.tif``).
TRUTH_CLASSES = ("landcover", "cropland", "irrigation", "croptype")
#: Truth raster of the year's 8-day NDVI, in the year's truth folder (``<name>.tif``).
TRUTH_NDVI = "ndvi_8day"
#: Rule demo_truth_year's outputs, in the truth folder's ``<year>/``.
TRUTH_YEAR = {"ndvi": f"{TRUTH_NDVI}.tif", "croptype": "croptype.tif"}
#: Rule demo_samples' output, in the demo's input folder.
SAMPLES = "samples.gpkg"
#: Rule demo_statistics' outputs per level, in the demo's input folder.
STATISTICS = {
    "province": "statistics/{year}/province_cropland.csv",
    "county": "statistics/{year}/county_cropland.csv",
}
#: Rule demo_inventory's folder pattern, in the demo's input folder, and its outputs.
INVENTORY_DIR = "inventory/{year}"
INVENTORIES = {"landsat": "landsat_inventory.csv", "modis": "modis_inventory.csv"}
#: Rule demo_products' folder, in the demo's input folder, and its product folders.
PRODUCTS_DIR = "products"
WORLDCOVER_DIR = "worldcover"
CLCD_DIR = "clcd"
GFSAD_DIR = "gfsad"
#: Rule demo_reference_blocks' output, in the demo's input folder.
REFERENCE_BLOCKS = "reference_blocks.gpkg"


#: The demo's products and the default edition of each, as years from the run's first
#: year (the config's integration.products names an edition per product).
DEMO_PRODUCT_OFFSETS = {"worldcover": 0, "clcd": 0, "gfsad": -1}


def gfsad_file(year: int) -> str:
    """The GFSAD-like product's edition of ``year``, in :data:`PRODUCTS_DIR`."""
    return f"{GFSAD_DIR}/gfsad_cropland_{int(year)}.tif"


def demo_editions(products: Any, first_year: int) -> dict[str, int]:
    """The year of each demo product's edition: the year the config's
    integration.products gives a product of that name, else the run's first year plus
    :data:`DEMO_PRODUCT_OFFSETS`."""
    declared = {p.name: p.year for p in products}
    return {
        name: int(declared.get(name, first_year + offset))
        for name, offset in DEMO_PRODUCT_OFFSETS.items()
    }


def _world(job: Any, year: int | None = None) -> Any:
    """Logging set up and the demo world of the job's ``world`` param (of ``year``
    where given, else of the param's year, if any)."""
    from agrifactory.logs import setup_logging
    from agrifactory.synthetic.demo import spec_from_params
    from agrifactory.synthetic.world import build_world

    setup_logging(job.log[0])
    params = dict(job.params.world)
    if year is not None:
        params["year"] = int(year)
    return build_world(spec_from_params(params))


def demo_truth(job: Any) -> None:
    """Rule demo_truth: the land's truth rasters (read only by evaluation rules)."""
    from agrifactory.synthetic.demo import write_class_truth

    write_class_truth(_world(job), Path(job.output[0]).parent)


def demo_truth_year(job: Any) -> None:
    """Rule demo_truth_year: the true 8-day NDVI and crops of one year."""
    from agrifactory.synthetic.demo import write_ndvi_truth, write_truth_raster

    world = _world(job, int(job.wildcards.year))
    write_ndvi_truth(world, Path(job.output.ndvi).parent)
    write_truth_raster(world, "croptype", job.output.croptype)


def demo_landsat_scene(job: Any) -> None:
    """Rule demo_landsat_scene: one Landsat Collection 2 L2 scene of the demo world,
    drawn from the world of its acquisition year."""
    from agrifactory.synthetic import demo
    from agrifactory.synthetic.landsat import write_scene

    p = job.params.world
    plan = demo.scene_plan(p["demo_world"], job.wildcards.scene, p["margin_days"])
    write_scene(Path(job.output[0]).parent.parent, plan, _world(job, plan.date.year))


def demo_modis(job: Any) -> None:
    """Rule demo_modis: the MODIS-like 8-day NDVI composites of one calendar year."""
    from agrifactory.io.modis import composite_starts
    from agrifactory.synthetic.modis import write_composites

    year = int(job.wildcards.cyear)
    write_composites(Path(job.output[0]).parent, _world(job, year), composite_starts(year))


def demo_samples(job: Any) -> None:
    """Rule demo_samples: labelled sample points by a stratified random design, of the
    label years (train and validation) and the validation-only years of the ``world``
    param's demo_world section (not of the run's years)."""
    from agrifactory.logs import setup_logging
    from agrifactory.synthetic.demo import sample_years, spec_from_params
    from agrifactory.synthetic.samples import write_samples, year_samples

    setup_logging(job.log[0])
    cfg = job.params.world["demo_world"]
    label_years, validation_years = sample_years(cfg)
    samples = year_samples(
        spec_from_params(job.params.world),
        label_years,
        validation_years,
        validation_fraction=cfg["validation_fraction"],
    )
    write_samples(job.output[0], samples)


def demo_statistics(job: Any) -> None:
    """Rule demo_statistics: the demo's official cropland statistics per province and county."""
    from agrifactory import boundaries
    from agrifactory.io.tables import write_table
    from agrifactory.synthetic.statistics import official_tables

    world = _world(job, int(job.wildcards.year))
    provinces = boundaries.to_albers(boundaries.read_units(job.input.provinces))
    counties = boundaries.to_albers(boundaries.read_units(job.input.counties))
    province_table, county_table = official_tables(
        world, provinces, counties, error_sd=job.params.world["demo_world"]["statistics_error"]
    )
    write_table(province_table, job.output.province)
    write_table(county_table, job.output.county)


def demo_inventory(job: Any) -> None:
    """Rule demo_inventory: scan the generated demo inputs the way real inputs are scanned."""
    import pandas as pd

    from agrifactory.io import inventory
    from agrifactory.logs import setup_logging

    setup_logging(job.log[0])
    # Scene folders sit in <landsat>/<product id>/; composites in <modis>/<calendar year>/.
    # The folders hold the files of every run year: scan this year's (the job's inputs),
    # each folder complete once the job starts.
    scenes = sorted({Path(p).parent for p in job.input.landsat})
    landsat = pd.concat([inventory.scan_landsat(folder) for folder in scenes], ignore_index=True)
    composites = {Path(p).name for p in job.input.modis}
    folders = sorted({Path(p).parent for p in job.input.modis})
    modis = pd.concat([inventory.scan_modis(folder) for folder in folders], ignore_index=True)
    modis = modis[modis["path"].map(lambda p: Path(p).name).isin(composites)]
    inventory.write_inventory(landsat, job.output.landsat)
    inventory.write_inventory(modis.reset_index(drop=True), job.output.modis)


def demo_products(job: Any) -> None:
    """Rule demo_products: WorldCover-, CLCD- and GFSAD-like cropland products, each the
    edition of its year in the ``editions`` param (the land does not depend on the year)."""
    from agrifactory import boundaries
    from agrifactory.synthetic.products import write_products

    world = _world(job)
    provinces = boundaries.read_units(job.input.provinces)
    write_products(world, Path(job.output.worldcover).parent, provinces, job.params.editions)


def demo_reference_blocks(job: Any) -> None:
    """Rule demo_reference_blocks: reference blocks with the truth's cropland fraction."""
    from agrifactory.synthetic.products import write_reference_blocks

    write_reference_blocks(_world(job), job.output[0], int(job.params.block_m))
