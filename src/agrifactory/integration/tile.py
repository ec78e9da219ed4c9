"""One tile-year of rule ``semantic_blocks``: sources on the grid, block features, sample values.

Reads the factory's cropland map and probability, the fusion flags, the monthly clear
counts and the scene scores of the tile (each optional but the map), every listed
product (:mod:`agrifactory.integration.products`), a DEM and the provinces; writes the
products' cropland fractions as one stack, the block table and the values at the
sample points that fall in the tile.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.grid import PixelGrid, Tile, lattice_cells
from agrifactory.integration import blocks as bl
from agrifactory.integration.rules import IntegrationSettings, ProductSettings
from agrifactory.io.raster import open_raster, read_raster, warp_to_grid

log = logging.getLogger(__name__)

#: Months whose fusion flags make the IQA features (the growing season).
SEASON_MONTHS = range(5, 10)
#: Band of the factory's probability raster that holds the cropland probability.
PROBA_BAND = "p_cropland"


@dataclass(frozen=True)
class TileInputs:
    """The files of one tile-year that rule ``semantic_blocks`` reads (None: absent)."""

    cropland: str | Path
    proba: str | Path
    flags: str | Path | None = None
    counts: str | Path | None = None
    scores: str | Path | None = None
    provinces: str | Path | None = None
    samples: str | Path | None = None


def read_band(path: str | Path, name: str) -> np.ndarray:
    """The band of ``path`` whose description is ``name`` (float, nodata as NaN)."""
    from agrifactory.errors import InputError

    with open_raster(path) as src:
        names = list(src.descriptions)
        if name not in names:
            raise InputError(path, f"no band named {name!r} (bands: {names})", "rerun its rule")
        data = src.read(names.index(name) + 1).astype(np.float32)
        if src.nodata is not None and not np.isnan(src.nodata):
            data[data == src.nodata] = np.nan
    return data


def source_fractions(
    settings: IntegrationSettings, grid: PixelGrid, year: int
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Every product's cropland fraction on ``grid`` and a QA row per product (each product
    checked first, as when the run is planned)."""
    from agrifactory.integration import products as pr

    settings.check_years([year])
    fractions, rows = {}, []
    for i, product in enumerate(settings.products):
        key = f"integration.products[{i}]"
        pr.check_product(product, key)
        files = pr.covering_files(product, pr.find_files(product, key), grid)
        frac = pr.cropland_fraction(product, key, files, grid)
        fractions[product.name] = frac
        rows.append(_qa_row(product, files, frac))
        log.info(
            "%s: %d file(s), covers %.1f%% of the tile",
            product.name,
            len(files),
            100 * rows[-1]["covered_share"],
        )
    return fractions, pd.DataFrame(rows)


def _qa_row(product: ProductSettings, files: Sequence[Path], frac: np.ndarray) -> dict:
    has = ~np.isnan(frac)
    return {
        "source": product.name,
        "year": product.year,
        "files": len(files),
        "covered_share": float(has.mean()),
        "mean_fraction": float(np.nanmean(frac)) if has.any() else float("nan"),
    }


def iqa_features(lattice: bl.BlockLattice, inputs: TileInputs, year: int) -> dict[str, object]:
    """The IQA group: fusion flag shares over the season, clear observations, scene scores.
    The flags' names are the flag file's own tags (``flag_<code>``)."""
    out: dict[str, object] = {}
    if inputs.flags is not None:
        with open_raster(inputs.flags) as src:
            dates = [dt.date.fromisoformat(d) for d in src.descriptions]
            bands = [
                i + 1 for i, d in enumerate(dates) if d.year == year and d.month in SEASON_MONTHS
            ]
            flags = src.read(bands)
            tags = src.tags()
        names = {
            int(k[5:]): v for k, v in tags.items() if k.startswith("flag_") and k[5:].isdigit()
        }
        out.update(bl.flag_shares(lattice, flags, names))
    if inputs.counts is not None:
        counts, _ = read_raster(inputs.counts)
        out["clear_obs"] = lattice.mean(np.nansum(counts, axis=0))
    if inputs.scores is not None:
        scores = pd.read_csv(inputs.scores)
        out["scene_score_mean"] = float(scores["score"].mean())
        out["scene_score_min"] = float(scores["score"].min())
    return out


def geography_features(lattice: bl.BlockLattice, dem: str | Path | None) -> dict[str, object]:
    """The geography group: mean elevation and slope of each block (NaN without a DEM)."""
    nr, nc = lattice.shape
    size = lattice.block_px * lattice.grid.res
    if dem is None:
        return {"elevation": np.nan, "slope": np.nan}
    coarse = PixelGrid(lattice.grid.x_min, lattice.grid.y_max, size, nc, nr, lattice.grid.crs)
    from rasterio.enums import Resampling

    with open_raster(dem) as src:
        elevation = warp_to_grid(src, 1, coarse, resampling=Resampling.bilinear)
    return {"elevation": elevation, "slope": bl.slope_degrees(elevation, size)}


def province_codes(frame: pd.DataFrame, provinces: str | Path | None, crs: object) -> np.ndarray:
    """The adcode (as a number) of the province holding each block centre; NaN outside."""
    import geopandas as gpd

    if provinces is None:
        return np.full(len(frame), np.nan)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(frame["x"], frame["y"]), crs=crs)
    units = gpd.read_file(provinces, bbox=tuple(pts.to_crs(4326).total_bounds)).to_crs(crs)
    hit = gpd.sjoin(pts, units[["adcode", "geometry"]], how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]
    return pd.to_numeric(hit["adcode"], errors="coerce").to_numpy(dtype=float)


def block_table(
    tile: Tile,
    lattice: bl.BlockLattice,
    factory: np.ndarray,
    proba: np.ndarray,
    fractions: Mapping[str, np.ndarray],
    groups: Sequence[Mapping[str, object]],
    provinces: str | Path | None,
    region: int,
) -> pd.DataFrame:
    """The tile's block table: ids and lattice indices, then every feature group."""
    frame = lattice.frame(tile.id, tile.spec.origin)
    features = bl.consistency_features(lattice, factory, proba, fractions)
    for group in groups:
        features.update(group)
    for name, values in features.items():
        frame[name] = np.broadcast_to(np.asarray(values, dtype=float), lattice.shape).ravel()
    frame["province"] = province_codes(frame, provinces, tile.spec.crs)
    frame["region"] = float(region)
    return frame


def sample_table(
    samples: str | Path,
    grid: PixelGrid,
    lattice: bl.BlockLattice,
    tile_id: str,
    factory: np.ndarray,
    proba: np.ndarray,
    fractions: Mapping[str, np.ndarray],
) -> pd.DataFrame:
    """Values at the cropland-labelled sample points inside the tile: ``sample_id``,
    ``split``, ``label`` (1 cropland, 0 other), the block, the factory's class and
    probability and every product's fraction."""
    from agrifactory.io.samples import read_samples

    pts = read_samples(samples, label_columns=["cropland", "split"]).to_crs(grid.crs)
    pts = pts[pts["cropland"].isin(["cropland", "other"])]
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    col, row = lattice_cells(x, y, (grid.x_min, grid.y_max), grid.res)
    inside = (row >= 0) & (row < grid.height) & (col >= 0) & (col < grid.width)
    pts, row, col = pts[inside], row[inside], col[inside]
    nc = lattice.shape[1]
    block = (row // lattice.block_px) * nc + col // lattice.block_px
    ids = lattice.frame(tile_id, (0.0, 0.0))["block_id"].to_numpy()
    table = pd.DataFrame(
        {
            "sample_id": pts["sample_id"].astype(str).to_numpy(),
            "split": pts["split"].to_numpy(),
            "label": (pts["cropland"] == "cropland").astype(int).to_numpy(),
            "block_id": ids[block],
            "factory": factory[row, col].astype(float),
            "proba": proba[row, col].astype(float),
        }
    )
    for name, frac in fractions.items():
        table[f"value_{name}"] = frac[row, col].astype(float)
    return table
