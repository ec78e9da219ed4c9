"""Labelled sample points of the demo world, drawn by a stratified random design.

Strata are the land-cover classes, with cropland split by crop type. Points are
pixel centres away from field edges (as a field survey would record them); each
stratum is split into training and validation at random in the same proportion.
A few points fall outside the tiles, as real surveys do, so the training-set
stage has to report them.

Years: :func:`year_samples` puts the base year's points (:func:`draw_samples`), other
label years' and validation-only years' points (:func:`validation_samples`, labelled
with that year's rotated crops) in one table with a ``year`` column.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from agrifactory import legend
from agrifactory.io.vector import write_gpkg
from agrifactory.synthetic.world import World, WorldSpec, build_world, rng_for

#: Points per stratum (crop types, then the other land-cover classes).
DEFAULT_PER_STRATUM = {
    "potato": 90,
    "sugar_beet": 70,
    "sunflower": 70,
    "vegetables": 70,
    "oat": 90,
    "wheat": 90,
    "flax": 80,
    "grassland": 150,
    "forest": 60,
    "water": 40,
    "built_up": 25,
}


def _interior(world: World) -> np.ndarray:
    """Pixels whose 3x3 neighbourhood lies in one field (or one land-cover class)."""
    fid = world.field_id.astype(np.int64) * 16 + world.landcover
    same = ndimage.maximum_filter(fid, 3) == ndimage.minimum_filter(fid, 3)
    return same


def draw_samples(
    world: World,
    per_stratum: dict[str, int] | None = None,
    validation_fraction: float = 0.3,
    n_outside: int = 3,
) -> gpd.GeoDataFrame:
    """Draw the demo's labelled points (EPSG:4326) with train/validation split, from the
    stream ``rng_for(seed, "samples")``, ids ``S00001``...; ``year`` is the world's year
    (the base year for a world without one)."""
    rng = rng_for(world.spec.seed, "samples")
    strata = _strata(world)
    records = _stratified(rng, strata, per_stratum or DEFAULT_PER_STRATUM, validation_fraction)
    records += _outside(rng, world, strata, n_outside)
    return _table(world, records, "S")


def validation_samples(
    world: World, per_stratum: dict[str, int] | None = None, validation_fraction: float = 0.3
) -> gpd.GeoDataFrame:
    """Validation-only points of the world's year (not the base year), labelled with that
    year's crops: ``validation_fraction`` of each stratum's ``per_stratum`` points (as many
    as the base year's validation split), all inside the tiles, from the stream
    ``rng_for(seed, "samples", year)``, ids ``V<year>-00001``..."""
    year = _year(world)
    per_stratum = per_stratum or DEFAULT_PER_STRATUM
    counts = {k: int(round(n * validation_fraction)) for k, n in per_stratum.items()}
    rng = rng_for(world.spec.seed, "samples", year)
    return _table(world, _stratified(rng, _strata(world), counts, 1.0), f"V{year}-")


def year_samples(
    spec: WorldSpec,
    label_years: list[int],
    validation_years: list[int],
    per_stratum: dict[str, int] | None = None,
    validation_fraction: float = 0.3,
    n_outside: int = 3,
) -> gpd.GeoDataFrame:
    """The demo's samples of several years in one table with a ``year`` column.

    The base year's points are :func:`draw_samples`' (same ids, points, labels, split);
    another label year's are drawn the same way from its own world and stream
    ``rng_for(seed, "samples", year)`` with ids ``L<year>-00001``...; each validation
    year adds :func:`validation_samples`. ``spec.year`` is ignored.
    """
    parts = []
    for year in label_years:
        world = build_world(replace(spec, year=year))
        if world.spec.is_base_year():
            parts.append(draw_samples(world, per_stratum, validation_fraction, n_outside))
            continue
        rng = rng_for(spec.seed, "samples", year)
        strata = _strata(world)
        records = _stratified(rng, strata, per_stratum or DEFAULT_PER_STRATUM, validation_fraction)
        records += _outside(rng, world, strata, n_outside)
        parts.append(_table(world, records, f"L{year}-"))
    for year in validation_years:
        world = build_world(replace(spec, year=year))
        parts.append(validation_samples(world, per_stratum, validation_fraction))
    out = pd.concat(parts, ignore_index=True)
    if out["sample_id"].duplicated().any():
        raise ValueError("the years' sample ids collide: give each year once")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=parts[0].crs)


def _year(world: World) -> int:
    """The world's year (its base year for a world built without one)."""
    return world.spec.base_year if world.spec.year is None else world.spec.year


def _strata(world: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pixel's stratum name, and the pixels eligible as points inside and outside
    the tiles (interior pixels only)."""
    interior = _interior(world)
    x, y = world.grid.pixel_centres()
    x0, y0, x1, y1 = (
        min(t.bounds[0] for t in world.spec.tiles),
        min(t.bounds[1] for t in world.spec.tiles),
        max(t.bounds[2] for t in world.spec.tiles),
        max(t.bounds[3] for t in world.spec.tiles),
    )
    inside = np.outer((y > y0) & (y < y1), (x > x0) & (x < x1))
    stratum = np.empty(world.grid.shape, dtype=object)
    stratum[:] = np.array(
        [None] + [legend.LANDCOVER[k] for k in sorted(legend.LANDCOVER)], dtype=object
    )[world.landcover]
    crop = world.croptype > 0
    stratum[crop] = np.array([legend.CROPTYPE[k] for k in sorted(legend.CROPTYPE)], dtype=object)[
        world.croptype[crop]
    ]
    return stratum, interior & inside, interior & ~inside


def _stratified(
    rng: np.random.Generator,
    strata: tuple[np.ndarray, np.ndarray, np.ndarray],
    per_stratum: dict[str, int],
    validation_fraction: float,
) -> list[tuple[int, int, str]]:
    """(row, col, split) of up to ``per_stratum`` interior points per stratum inside the
    tiles (``strata`` from :func:`_strata`), each stratum split into validation and
    training at random."""
    stratum, eligible, _ = strata
    records = []
    for name, n in per_stratum.items():
        rows, cols = np.nonzero((stratum == name) & eligible)
        if len(rows) == 0:
            continue
        pick = rng.choice(len(rows), size=min(n, len(rows)), replace=False)
        n_val = int(round(len(pick) * validation_fraction))
        split = np.array(["validation"] * n_val + ["train"] * (len(pick) - n_val))
        rng.shuffle(split)
        for (r, c), s in zip(zip(rows[pick], cols[pick], strict=True), split, strict=True):
            records.append((r, c, s))
    return records


def _outside(
    rng: np.random.Generator,
    world: World,
    strata: tuple[np.ndarray, np.ndarray, np.ndarray],
    n_outside: int,
) -> list[tuple[int, int, str]]:
    """A few training points on cropland in the margin, outside every tile."""
    _, _, outside = strata
    rows, cols = np.nonzero(outside & (world.croptype > 0))
    return [
        (rows[i], cols[i], "train")
        for i in rng.choice(len(rows), size=min(n_outside, len(rows)), replace=False)
    ]


def _table(world: World, records: list[tuple[int, int, str]], prefix: str) -> gpd.GeoDataFrame:
    """The sample table of ``records`` (ids ``<prefix>00001``...) in EPSG:4326."""
    x, y = world.grid.pixel_centres()
    r = np.array([rec[0] for rec in records], dtype=int)
    c = np.array([rec[1] for rec in records], dtype=int)
    lc = world.landcover[r, c]
    ct = world.croptype[r, c]
    ir = world.irrigation[r, c]
    table = pd.DataFrame(
        {
            "sample_id": [f"{prefix}{i:05d}" for i in range(1, len(records) + 1)],
            "landcover": [legend.LANDCOVER[v] for v in lc],
            "cropland": [legend.CROPLAND[int(v == 1)] for v in lc],
            "irrigation": [legend.IRRIGATION[v] if v else None for v in ir],
            "croptype": [legend.CROPTYPE[v] if v else None for v in ct],
            "region": np.where(world.region[r, c] == 1, "east", "west"),
            "split": [rec[2] for rec in records],
            "year": np.full(len(records), _year(world), dtype=np.int64),
        }
    )
    pts = shapely.points(x[c], y[r])
    return gpd.GeoDataFrame(table, geometry=pts, crs=world.grid.crs).to_crs("EPSG:4326")


def write_samples(path: str | Path, samples: gpd.GeoDataFrame) -> None:
    """Write the sample points as a GeoPackage layer ``samples``, atomically."""
    write_gpkg(samples, path, "samples")
