"""The demo world as a whole: its spec from the config, its file plan, its truth.

The workflow needs every demo input file's name before the files exist (to build
the DAG), so the inventories are computed from the plan here. They equal what
:mod:`agrifactory.io.inventory` finds when it scans the generated folders; a
test checks that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from rasterio.warp import transform_geom

from agrifactory import legend
from agrifactory.grid import Tile
from agrifactory.io import inventory, landsat_mtl, modis
from agrifactory.io.raster import write_raster
from agrifactory.synthetic import landsat as demo_landsat
from agrifactory.synthetic import modis as demo_modis
from agrifactory.synthetic.rules import TRUTH_CLASSES, TRUTH_NDVI
from agrifactory.synthetic.world import CloudSeason, World, WorldSpec


def _settings(demo_cfg: Mapping[str, Any]) -> Any:
    """The config's ``demo_world`` section as its settings model (missing keys: defaults)."""
    from agrifactory.config import DemoWorldSettings

    return DemoWorldSettings.build(demo_cfg, "demo_world")


def world_spec(
    demo_cfg: Mapping[str, Any], tiles: Sequence[Tile], year: int | None, seed: int
) -> WorldSpec:
    """The world spec of the config's ``demo_world`` section (``year`` None: the base
    year's land only)."""
    cfg = _settings(demo_cfg)
    season = cfg.cloud_season
    return WorldSpec(
        tiles=tuple(tiles),
        year=None if year is None else int(year),
        seed=int(seed),
        margin_km=float(cfg.margin_km),
        phenology_shift_days=float(cfg.phenology_shift_days),
        base_year=cfg.base_year,
        greenup_shift_days=tuple(cfg.greenup_shift_days),
        rotation_share=cfg.rotation_share,
        crop_share_concentration=cfg.crop_share_concentration,
        cloud_season=CloudSeason(
            centre_months=tuple(season.centre_months),
            half_width_months=season.half_width_months,
            wet=tuple(season.wet),
            dry=tuple(season.dry),
        ),
    )


def sample_years(demo_cfg: Mapping[str, Any]) -> tuple[list[int], list[int]]:
    """The years whose samples carry train and validation splits (``label_years``, by
    default the base year) and the validation-only years (``validation_years``) of the
    config's ``demo_world`` section."""
    cfg = _settings(demo_cfg)
    return list(cfg.label_years or [cfg.base_year]), list(cfg.validation_years)


def scene_plans(
    demo_cfg: Mapping[str, Any], year: int, margin_days: int
) -> list[demo_landsat.ScenePlan]:
    """The demo's Landsat acquisitions for a year plus margin: one revisit cycle through
    ``landsat_first_date`` for every year, so years share their margin scenes."""
    first = demo_cfg["landsat_first_date"]
    first = first if isinstance(first, dt.date) else dt.date.fromisoformat(str(first))
    return demo_landsat.plan_scenes(
        year,
        first,
        int(demo_cfg["revisit_days"]),
        margin_days,
        tuple(demo_cfg["landsat_path_row"]),
    )


def _wkt_4326(geom: shapely.Geometry, crs: Any) -> str:
    return shapely.geometry.shape(
        transform_geom(
            crs,
            "EPSG:4326",
            shapely.geometry.mapping(shapely.segmentize(geom, 500.0)),
            precision=-1,
        )
    ).wkt


def planned_inventory(
    spec: WorldSpec,
    years: Sequence[int],
    demo_cfg: Mapping[str, Any],
    landsat_dir: str | Path,
    modis_dir: str | Path,
    margin_days: int,
) -> pd.DataFrame:
    """The inventory of the demo's Landsat scenes and MODIS composites of every run
    year, from the plan alone; a scene or composite in the margins of two years is
    listed once."""
    grid = spec.grid()
    lon, lat = shapely.get_coordinates(
        shapely.geometry.shape(
            transform_geom(
                grid.crs, "EPSG:4326", shapely.geometry.mapping(shapely.box(*grid.bounds))
            )
        ).centroid
    )[0]
    crs, transform, width, height = demo_landsat.scene_grid(grid, demo_landsat.utm_crs(lon, lat))
    scene_box = shapely.box(
        transform.c,
        transform.f - height * transform.a,
        transform.c + width * transform.a,
        transform.f,
    )
    scene_fp = _wkt_4326(scene_box, crs)
    bands = ";".join(sorted([*demo_landsat.SCENE_FILES, landsat_mtl.MTL_BAND]))
    years = [int(y) for y in years]
    rows = [
        (
            "landsat",
            p.product_id,
            p.date.isoformat(),
            str(Path(landsat_dir) / p.product_id),
            bands,
            scene_fp,
        )
        for year in years
        for p in scene_plans(demo_cfg, year, margin_days)
    ]
    mt, mw, mh = demo_modis.modis_grid_for(grid)
    modis_box = shapely.box(mt.c, mt.f - mh * mt.a, mt.c + mw * mt.a, mt.f)
    for start in sorted({d for year in years for d in modis.composite_dates(year, margin_days)}):
        name = modis.modis_file_name(start)
        rows.append(
            (
                "modis",
                Path(name).stem,
                start.isoformat(),
                str(Path(modis_dir) / str(start.year) / name),
                "",
                modis_box.wkt,
            )
        )
    table = pd.DataFrame(rows, columns=inventory.COLUMNS).drop_duplicates("id", ignore_index=True)
    return inventory.validate_inventory(table, "demo plan")


def scene_plan(demo_cfg: Mapping[str, Any], product_id: str, margin_days: int) -> Any:
    """The plan of one demo scene, found among the plans of its acquisition year."""
    year = int(product_id.split("_")[3][:4])
    plans = scene_plans(demo_cfg, year, margin_days)
    found = [p for p in plans if p.product_id == product_id]
    if not found:
        raise ValueError(f"{product_id} is not a scene of the demo's plan for {year}")
    return found[0]


def modis_calendar_years(years: Sequence[int], margin_days: int) -> list[int]:
    """The calendar years whose composites the run years need (with their margins)."""
    return sorted({d.year for y in years for d in modis.composite_dates(int(y), margin_days)})


#: The truth rasters of the land and their legends (:data:`TRUTH_CLASSES`).
_TRUTH_LEGENDS = {
    "landcover": legend.LANDCOVER,
    "cropland": legend.CROPLAND,
    "irrigation": legend.IRRIGATION,
    "croptype": legend.CROPTYPE,
}


def write_truth_raster(world: World, name: str, path: str | Path) -> Path:
    """Write one class truth raster of the world (a name of :data:`TRUTH_CLASSES`)."""
    arr = world.cropland() if name == "cropland" else getattr(world, name)
    g = world.grid
    leg = _TRUTH_LEGENDS[name]
    return write_raster(
        Path(path),
        arr.astype(np.uint8),
        transform=g.transform,
        crs=g.crs,
        nodata=legend.NODATA,
        units="class",
        tags={f"class_{k}": v for k, v in leg.items()},
    )


def write_class_truth(world: World, truth_dir: str | Path) -> dict[str, Path]:
    """Write the truth rasters of the land (world grid), :data:`TRUTH_CLASSES`, that
    only evaluation rules may read; the crops are those of the world's base year
    (rule demo_truth_year writes every year's)."""
    return {
        name: write_truth_raster(world, name, Path(truth_dir) / f"{name}.tif")
        for name in TRUTH_CLASSES
    }


def write_ndvi_truth(world: World, truth_dir: str | Path) -> Path:
    """Write the true 8-day NDVI of the world's year (:data:`TRUTH_NDVI`, world grid)."""
    if world.spec.year is None:
        raise ValueError("the NDVI truth needs the world's year; build the world with one")
    g = world.grid
    starts = modis.composite_starts(world.spec.year)
    ndvi = np.stack([world.ndvi(s + dt.timedelta(days=3)) for s in starts])
    return write_raster(
        Path(truth_dir) / f"{TRUTH_NDVI}.tif",
        ndvi,
        transform=g.transform,
        crs=g.crs,
        nodata=np.nan,
        band_names=[s.isoformat() for s in starts],
        units="NDVI",
        tags={"note": "true clear-sky NDVI at the middle day of each 8-day composite"},
    )


def spec_from_params(params: Mapping[str, Any]) -> WorldSpec:
    """The world spec from the ``world`` params the demo rules receive (without a
    ``year`` for the rules whose files do not depend on it)."""
    tiles = [Tile.from_id(t, int(params["tile_km"])) for t in params["tiles"]]
    return world_spec(params["demo_world"], tiles, params.get("year"), int(params["seed"]))
