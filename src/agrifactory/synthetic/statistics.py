"""The demo's "official statistics": cropland area per province and county of the AOI.

They are the truth's cropland area inside the demo tiles, per unit (by pixel
centre), times ``1 + e`` with a reporting error ``e ~ N(0, error_sd)``, written
in the same CSV layout as the real tables in ``config/official_stats/``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from rasterio import features

from agrifactory.grid import pixel_area_m2
from agrifactory.synthetic.world import World, rng_for


def tiles_mask(world: World) -> np.ndarray:
    """True on world pixels that lie inside one of the demo tiles."""
    x, y = world.grid.pixel_centres()
    mask = np.zeros(world.grid.shape, bool)
    for t in world.spec.tiles:
        x0, y0, x1, y1 = t.bounds
        mask |= np.outer((y > y0) & (y < y1), (x > x0) & (x < x1))
    return mask


def true_cropland_by_unit(world: World, units_albers: gpd.GeoDataFrame) -> pd.Series:
    """Truth cropland area (ha) inside the tiles per unit adcode, by pixel centre."""
    codes = np.arange(1, len(units_albers) + 1, dtype=np.int32)
    raster = features.rasterize(
        zip(units_albers.geometry, codes, strict=True),
        out_shape=world.grid.shape,
        transform=world.grid.transform,
        fill=0,
        dtype="int32",
    )
    sel = tiles_mask(world) & (world.cropland() == 1) & (raster > 0)
    counts = np.bincount(raster[sel], minlength=len(units_albers) + 1)[1:]
    area_ha = counts * pixel_area_m2() / 1e4
    return pd.Series(area_ha, index=units_albers["adcode"].to_numpy())


def official_tables(
    world: World, provinces: gpd.GeoDataFrame, counties: gpd.GeoDataFrame, error_sd: float = 0.03
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Province (kha) and county (ha) tables for the units the tiles touch."""
    rng = rng_for(world.spec.seed, "statistics")
    date = f"{world.spec.year}-12-31"
    source = f"agrifactory demo world: truth x (1 + N(0, {error_sd})), seed {world.spec.seed}"
    tables = []
    for units, unit_name, unit in ((provinces, "province", "kha"), (counties, "county", "ha")):
        area = true_cropland_by_unit(world, units)
        area = area[area > 0]
        reported = area.to_numpy() * (1.0 + rng.normal(0.0, error_sd, len(area)))
        names = units.set_index("adcode").loc[area.index, "name"].to_numpy()
        factor = 1000.0 if unit == "kha" else 1.0
        tables.append(
            pd.DataFrame(
                {
                    "adcode": area.index,
                    f"{unit_name}_zh": names,
                    f"cropland_{unit}": np.round(reported / factor, 3),
                    "reference_date": date,
                    "source": source,
                }
            )
        )
    return tables[0], tables[1]
