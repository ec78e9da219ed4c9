"""A tiny two-tile world in the factory's file formats for the classification stage tests.

Two 6 km tiles (200 x 200 px) of 20 x 20 px fields: other land, or cropland with a
crop (potato and sugar beet irrigated, oat and wheat rainfed). ``features.tif``
holds ``harm_mean``, ``pheno_peak`` and ``ndvi_med_01..12``; ``ndvi_hants.tif`` the
46 dated 8-day bands. Each crop peaks in its own month; the noise is small, so the
classes separate well. The 5 x 5 px upper-left corner of every tile has no data (NaN).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from agrifactory import legend
from agrifactory.grid import ALBERS, Tile
from agrifactory.io.raster import write_raster

TILES = ["h625v245", "h626v245"]
TILE_KM = 6
YEAR = 2021
FIELD = 20
#: crop code -> peak month (potato, sugar beet irrigated; oat, wheat rainfed).
PEAK = {1: 6.0, 2: 8.0, 5: 9.5, 6: 11.0}
DATES = [dt.date(YEAR, 1, 1) + dt.timedelta(days=8 * k) for k in range(46)]


def _curve(months: np.ndarray, peak: np.ndarray, height: np.ndarray) -> np.ndarray:
    return 0.15 + height * np.exp(-0.5 * ((months - peak) / 1.2) ** 2)


def write_world(root: Path, seed: int = 0) -> dict:
    """Write the tiles' rasters, the truth and the samples under ``root``; return paths."""
    rng = np.random.default_rng(seed)
    out = {"features": {}, "smoothed": {}, "croptype": {}}
    n = 200 // FIELD
    for tile_id in TILES:
        grid = Tile.from_id(tile_id, TILE_KM).grid()
        fields = rng.choice([0, 1, 2, 5, 6], size=(n, n), p=[0.3, 0.2, 0.15, 0.2, 0.15])
        crop = np.kron(fields, np.ones((FIELD, FIELD), dtype=np.int64))
        peak = np.vectorize(lambda c: PEAK.get(c, 6.0))(crop).astype(float)
        height = np.where(crop > 0, 0.6, 0.1)
        med_months = np.arange(1, 13, dtype=float)[:, None, None]
        med = _curve(med_months, peak, height) + rng.normal(0, 0.01, (12, 200, 200))
        doy_months = np.array([d.timetuple().tm_yday / 30.4 + 0.5 for d in DATES])[:, None, None]
        hants = _curve(doy_months, peak, height) + rng.normal(0, 0.01, (46, 200, 200))
        feats = np.concatenate([med.mean(axis=0)[None], med.max(axis=0)[None], med])
        feats[:, :5, :5] = np.nan
        hants[:, :5, :5] = np.nan
        geo = {"transform": grid.transform, "crs": ALBERS, "nodata": np.nan}
        folder = root / "results/tiles" / tile_id / str(YEAR)
        names = ["harm_mean", "pheno_peak"] + [f"ndvi_med_{m:02d}" for m in range(1, 13)]
        out["features"][tile_id] = write_raster(
            folder / "features/features.tif", feats.astype(np.float32), band_names=names, **geo
        )
        out["smoothed"][tile_id] = write_raster(
            folder / "smooth/ndvi_hants.tif",
            hants.astype(np.float32),
            band_names=[d.isoformat() for d in DATES],
            **geo,
        )
        out["croptype"][tile_id] = crop.astype(np.uint8)
    out["samples"] = write_samples(root / "samples.gpkg", out["croptype"], rng)
    return out


def write_samples(path: Path, croptype: dict, rng: np.random.Generator) -> Path:
    """Field-centre points of every field, alternately train and validation, plus one
    point outside the tiles."""
    rows = []
    for tile_id, crop in croptype.items():
        grid = Tile.from_id(tile_id, TILE_KM).grid()
        for i in range(0, 200, FIELD):
            for j in range(0, 200, FIELD):
                for di, dj in ((7, 7), (12, 12)):
                    code = int(crop[i + di, j + dj])
                    x, y = grid.transform * (j + dj + 0.5, i + di + 0.5)
                    rows.append((x, y, code))
    ids, geoms, cropland, irrigation, croptype_, split = [], [], [], [], [], []
    for k, (x, y, code) in enumerate(rows):
        ids.append(f"S{k:04d}")
        geoms.append(shapely.Point(x, y))
        cropland.append("cropland" if code else "other")
        irrigated = code in (1, 2)
        irrigation.append(("irrigated" if irrigated else "rainfed") if code else None)
        croptype_.append(legend.CROPTYPE[code] if code else None)
        split.append("validation" if k % 3 == 0 else "train")
    first = Tile.from_id(TILES[0], TILE_KM).grid()
    ids.append("NODATA")  # in the corner without data
    geoms.append(shapely.Point(*(first.transform * (2.5, 2.5))))
    cropland.append("other")
    irrigation.append(None)
    croptype_.append(None)
    split.append("train")
    x0 = Tile.from_id(TILES[0], TILE_KM).bounds[0]
    ids.append("OUTSIDE")
    geoms.append(shapely.Point(x0 - 500.0, Tile.from_id(TILES[0], TILE_KM).bounds[1] + 500.0))
    cropland.append("cropland")
    irrigation.append("irrigated")
    croptype_.append("potato")
    split.append("train")
    frame = gpd.GeoDataFrame(
        {
            "sample_id": ids,
            "cropland": cropland,
            "irrigation": irrigation,
            "croptype": croptype_,
            "split": split,
        },
        geometry=geoms,
        crs=ALBERS,
    ).to_crs("EPSG:4326")
    frame.to_file(path, layer="samples", driver="GPKG")
    return path


def write_truth(path: Path, croptype: dict, product: str) -> Path:
    """A truth raster of ``product`` over both tiles (one grid, like the demo truth)."""
    crop = np.concatenate([croptype[t] for t in TILES], axis=1)
    if product == "cropland":
        data = (crop > 0).astype(np.uint8)
    elif product == "irrigation":
        data = np.where(crop == 0, 0, np.where(np.isin(crop, (1, 2)), 1, 2)).astype(np.uint8)
    else:
        data = crop.astype(np.uint8)
    grid = Tile.from_id(TILES[0], TILE_KM).grid()
    return write_raster(path, data, transform=grid.transform, crs=ALBERS, nodata=255)
