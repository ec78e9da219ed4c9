"""Per-tile partial areas: the area of every class in every unit a tile touches.

Two ways to share a pixel between units:

``fraction`` (the default)
    Each pixel counts in a unit with the exact fraction of its square that
    lies inside the unit's polygon (computed by ``exactextract``, which clips
    the polygon's edges against the pixel grid in double precision). A pixel on
    a border is split between its units; a pixel half outside the country
    counts half.
``centre``
    Each pixel counts whole in the unit that contains its centre
    (``rasterio.features.rasterize``), and not at all if no unit does.

Units are clipped to the tile first. If two units overlap (more than
``overlap_tol_m2``), the overlap is given to the unit with the smaller adcode
and a warning states the area, so that no pixel is counted twice and the sum
over units equals the area inside their union (the "country"). Every table
has one extra row per product and class with adcode ``100000``: the area
inside that union, computed directly from the union polygon, which the fan-in
compares with the sum over units.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from rasterio import features

from agrifactory import legend
from agrifactory.aggregate.classes import PRODUCTS, TOTAL_ADCODE, class_name, valid_codes
from agrifactory.aggregate.rules import METHODS, AggregateSettings
from agrifactory.backend import to_numpy
from agrifactory.errors import DataError, InputError
from agrifactory.grid import ALBERS, PixelGrid, Tile
from agrifactory.io.raster import check_on_grid, open_raster

log = logging.getLogger(__name__)

#: The config's default method (``aggregate.method``).
DEFAULT_METHOD: str = AggregateSettings.model_fields["method"].default

#: Columns of a per-tile partial table (see :func:`tile_areas`).
PARTIAL_COLUMNS = [
    "tile",
    "method",
    "level",
    "adcode",
    "product",
    "code",
    "class",
    "pixels",
    "area_ha",
]
#: The columns :func:`level_areas` gets from :func:`unit_pixel_sums` (with ``level``).
_SUM_COLUMNS = PARTIAL_COLUMNS[2:-1]


@dataclass(frozen=True)
class PreparedUnits:
    """Units clipped to a tile, made disjoint, with their union.

    Attributes
    ----------
    units
        GeoDataFrame in China Albers with ``adcode`` (sorted) and polygonal geometries.
    union
        The union of the units (the part of the tile inside the country).
    overlap_m2
        Area that two or more units claimed before the overlaps were resolved.
    """

    units: gpd.GeoDataFrame
    union: shapely.Geometry
    overlap_m2: float


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a geometry (clipping can leave stray lines or points)."""
    if geom is None or geom.is_empty:
        return shapely.Polygon()
    if isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        return geom
    parts = [
        g for g in shapely.get_parts(geom) if isinstance(g, shapely.Polygon | shapely.MultiPolygon)
    ]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def prepare_units(
    units: gpd.GeoDataFrame,
    bounds: tuple[float, float, float, float],
    *,
    overlap_tol_m2: float = 1.0,
    crs: CRS = ALBERS,
) -> PreparedUnits:
    """Clip units to a box of the grid's CRS, drop those that miss it, and resolve overlaps.

    Parameters
    ----------
    units
        Units with an ``adcode`` column, in any CRS.
    bounds
        ``(x_min, y_min, x_max, y_max)`` in metres of ``crs`` (a tile's bounds).
    crs
        The tile grid's CRS (China Albers by default).
    overlap_tol_m2
        Overlaps up to this total area are left alone (floating-point slivers of
        shared edges); larger ones go to the unit with the smaller adcode.
    """
    if TOTAL_ADCODE in set(units["adcode"]):
        raise DataError(
            f"a boundary unit has adcode {TOTAL_ADCODE}, which the aggregation reserves for "
            "the national row; give it its real code"
        )
    albers = units.to_crs(crs) if not CRS.from_user_input(units.crs).equals(crs) else units
    geoms = shapely.clip_by_rect(albers.geometry.to_numpy(), *bounds)
    geoms = np.array([_polygonal(g) for g in geoms], dtype=object)
    keep = shapely.area(geoms) > 0
    clipped = gpd.GeoDataFrame(
        {"adcode": albers["adcode"].to_numpy()[keep]}, geometry=geoms[keep], crs=crs
    )
    clipped = clipped.sort_values("adcode", kind="stable").reset_index(drop=True)
    geoms = clipped.geometry.to_numpy()
    union = shapely.union_all(geoms) if len(geoms) else shapely.Polygon()
    overlap = float(shapely.area(geoms).sum() - union.area) if len(geoms) else 0.0
    if overlap > overlap_tol_m2:
        log.warning(
            "units overlap by %.1f m2 inside %s; each overlap is counted once, in the unit "
            "with the smaller adcode",
            overlap,
            bounds,
        )
        taken = shapely.Polygon()
        resolved = []
        for g in geoms:
            resolved.append(_polygonal(shapely.difference(g, taken)))
            taken = shapely.union(taken, g)
        clipped = clipped.set_geometry(resolved)
        clipped = clipped[shapely.area(clipped.geometry.to_numpy()) > 0].reset_index(drop=True)
    return PreparedUnits(clipped, union, max(overlap, 0.0))


def _fraction_sums(
    arrays: Mapping[str, np.ndarray], grid: PixelGrid, prepared: PreparedUnits
) -> list[tuple[str, str, int, float]]:
    from exactextract import exact_extract
    from exactextract.feature import GeoPandasFeatureSource
    from exactextract.raster import NumPyRasterSource

    x_min, y_min, x_max, y_max = grid.bounds
    sources = [
        NumPyRasterSource(arr, x_min, y_min, x_max, y_max, nodata=None, name=product)
        for product, arr in arrays.items()
    ]
    total = gpd.GeoDataFrame({"adcode": [TOTAL_ADCODE]}, geometry=[prepared.union], crs=grid.crs)
    rows = []
    for frame in (prepared.units, total):
        if frame.empty or frame.geometry.iloc[0].is_empty:
            continue
        out = exact_extract(
            sources,
            GeoPandasFeatureSource(frame),
            ["unique", "frac", "count"],
            include_cols=["adcode"],
            output="pandas",
        )
        if len(arrays) == 1:  # exactextract names columns by raster only when there are several
            (product,) = arrays
            out = out.rename(columns={op: f"{product}_{op}" for op in ("unique", "frac", "count")})
        for rec in out.to_dict("records"):
            for product in arrays:
                count = float(rec[f"{product}_count"])
                for code, frac in zip(
                    rec[f"{product}_unique"], rec[f"{product}_frac"], strict=True
                ):
                    rows.append((rec["adcode"], product, int(code), float(frac) * count))
    return rows


def _centre_sums(
    arrays: Mapping[str, np.ndarray], grid: PixelGrid, prepared: PreparedUnits
) -> list[tuple[str, str, int, float]]:
    n = len(prepared.units)
    if n == 0:
        return []
    index = features.rasterize(
        zip(prepared.units.geometry, range(1, n + 1), strict=True),
        out_shape=grid.shape,
        transform=grid.transform,
        fill=0,
        dtype="int32",
        all_touched=False,
    )
    # The union is rasterized on its own, so the national row does not depend on the units.
    in_union = features.rasterize(
        [(prepared.union, 1)], out_shape=grid.shape, transform=grid.transform, fill=0, dtype="uint8"
    ).astype(bool)
    key_base = index.astype(np.int64).ravel() * 256
    adcodes = prepared.units["adcode"].tolist()
    rows = []
    for product, arr in arrays.items():
        counts = np.bincount(key_base + arr.ravel(), minlength=(n + 1) * 256).reshape(n + 1, 256)
        inside = np.bincount(arr[in_union], minlength=256)
        for code in np.flatnonzero(inside):
            rows.append((TOTAL_ADCODE, product, int(code), float(inside[code])))
        for i, code in zip(*np.nonzero(counts[1:]), strict=True):
            rows.append((adcodes[i], product, int(code), float(counts[i + 1, code])))
    return rows


def unit_pixel_sums(
    arrays: Mapping[str, np.ndarray],
    grid: PixelGrid,
    units: gpd.GeoDataFrame | PreparedUnits,
    *,
    method: str = DEFAULT_METHOD,
    class_of: Callable[[str, int], str] = class_name,
) -> pd.DataFrame:
    """Pixel counts of every class in every unit, on one grid.

    Parameters
    ----------
    arrays
        uint8 class rasters on ``grid``, by product name (NumPy or CuPy; the
        counting runs on the host).
    grid
        The pixel grid of the arrays (China Albers).
    units
        Units with ``adcode`` (any CRS), or units already prepared by
        :func:`prepare_units` for this grid.
    method
        ``'fraction'`` (exact coverage fractions) or ``'centre'`` (pixel centres).
    class_of
        Name of a ``(product, code)`` in the ``class`` column (default: the legend's;
        the change stage names its pair codes).

    Returns
    -------
    DataFrame with ``adcode``, ``product``, ``code``, ``class`` and ``pixels``
    (pixel-equivalents: sums of coverage fractions, whole numbers for
    ``'centre'``), one row per unit, product and code present, plus the rows of
    adcode ``100000`` (inside the union of the units).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    host = {p: np.ascontiguousarray(to_numpy(a)) for p, a in arrays.items()}
    for product, arr in host.items():
        if arr.shape != grid.shape or arr.dtype != np.uint8:
            raise DataError(
                f"{product}: expected a uint8 array of shape {grid.shape}, "
                f"got {arr.dtype} {arr.shape}"
            )
    prepared = (
        units
        if isinstance(units, PreparedUnits)
        else prepare_units(units, grid.bounds, crs=grid.crs)
    )
    sums = _fraction_sums if method == "fraction" else _centre_sums
    table = pd.DataFrame(
        sums(host, grid, prepared), columns=["adcode", "product", "code", "pixels"]
    )
    table = table[table["pixels"] > 0]
    table["code"] = table["code"].astype(np.int64)
    table.insert(
        3, "class", [class_of(p, c) for p, c in zip(table["product"], table["code"], strict=True)]
    )
    return table.sort_values(["adcode", "product", "code"], kind="stable").reset_index(drop=True)


def read_class_raster(path: str | Path, product: str, grid: PixelGrid) -> np.ndarray:
    """Read a uint8 class product and check its grid and its codes.

    Raises
    ------
    InputError
        Not uint8, or not on the tile's grid.
    DataError
        Codes outside the product's legend (listed with their pixel counts).
    """
    with open_raster(path) as src:
        if src.dtypes[0] != "uint8":
            raise InputError(path, f"expected a uint8 class raster, found {src.dtypes[0]}")
        meta = {"crs": src.crs, "transform": src.transform}
        check_on_grid(meta, grid, path, (src.height, src.width))
        arr = src.read(1)
    check_codes(arr, product, path)
    return arr


def check_codes(arr: np.ndarray, product: str, where: str | Path) -> None:
    """Raise :class:`DataError` if ``arr`` holds codes outside ``product``'s legend.

    ``where`` names the file (and band) in the message, with each bad code's pixel count.
    """
    counts = np.bincount(arr.ravel(), minlength=256)
    bad = {int(c): int(counts[c]) for c in np.flatnonzero(counts) if c not in valid_codes(product)}
    if bad:
        raise DataError(
            f"{where}: codes {bad} (code: pixels) are not in the {product} legend "
            f"{PRODUCTS[product]} (nodata {legend.NODATA}); rerun the stage that wrote it"
        )


def tile_lonlat_bounds(
    tile: Tile, crs: CRS | str = "EPSG:4326"
) -> tuple[float, float, float, float]:
    """A tile's bounds in another CRS (edges densified, so the box covers the whole tile)."""
    return tile.grid().bounds_in(crs)


def read_units_near(path: str | Path, tile: Tile) -> gpd.GeoDataFrame:
    """The units of a boundary GeoPackage whose bounding boxes meet a tile (fast: spatial index)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "boundary file not found", "rerun the 'boundaries' rule")
    crs = pyogrio.read_info(path)["crs"]
    gdf = gpd.read_file(path, bbox=tile_lonlat_bounds(tile, crs))
    gdf["adcode"] = gdf["adcode"].astype(str)
    return gdf


def tile_areas(
    products: Mapping[str, str | Path],
    tile: Tile,
    units: Mapping[str, gpd.GeoDataFrame],
    *,
    method: str = DEFAULT_METHOD,
) -> pd.DataFrame:
    """The per-tile partial table: class areas per unit, for every level.

    Parameters
    ----------
    products
        Class rasters of the tile by product name (``cropland``, ``irrigation``,
        ``croptype``); any subset.
    tile
        The tile (its 30 m grid is checked against every raster).
    units
        Units by level name (``{'province': ..., 'county': ...}``), any CRS;
        :func:`read_units_near` reads just those near the tile.
    method
        ``'fraction'`` (default) or ``'centre'``.

    Returns
    -------
    DataFrame with :data:`PARTIAL_COLUMNS`: ``tile``, ``method``, ``level``,
    ``adcode``, ``product``, ``code``, ``class``, ``pixels`` and ``area_ha``.
    """
    unknown = sorted(set(products) - set(PRODUCTS))
    if unknown:
        raise ValueError(f"unknown products {unknown}; known: {sorted(PRODUCTS)}")
    grid = tile.grid()
    arrays = {p: read_class_raster(path, p, grid) for p, path in products.items()}
    return level_areas(arrays, tile, prepare_levels(units, tile), method=method)


def prepare_levels(units: Mapping[str, gpd.GeoDataFrame], tile: Tile) -> dict[str, PreparedUnits]:
    """Every level's units prepared for a tile (:func:`prepare_units`), by level name."""
    prepared = {}
    for level, gdf in units.items():
        prepared[level] = prep = prepare_units(gdf, tile.bounds, crs=tile.spec.crs)
        log.info(
            "%s %s: %d units, %.1f km2 inside them (overlaps resolved: %.1f m2)",
            tile.id,
            level,
            len(prep.units),
            prep.union.area / 1e6,
            prep.overlap_m2,
        )
    return prepared


def level_areas(
    arrays: Mapping[str, np.ndarray],
    tile: Tile,
    prepared: Mapping[str, PreparedUnits],
    *,
    method: str = DEFAULT_METHOD,
    class_of: Callable[[str, int], str] = class_name,
) -> pd.DataFrame:
    """The partial table (:data:`PARTIAL_COLUMNS`) of class arrays on a tile's grid,
    by product name, for every level's prepared units (:func:`prepare_levels`);
    ``class_of`` as in :func:`unit_pixel_sums`."""
    grid = tile.grid()
    tables = []
    for level, prep in prepared.items():
        t = unit_pixel_sums(arrays, grid, prep, method=method, class_of=class_of)
        t.insert(0, "level", level)
        tables.append(t)
    # Without levels, an empty table (tile and method are inserted below).
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=_SUM_COLUMNS)
    table.insert(0, "tile", tile.id)
    table.insert(1, "method", method)
    table["area_ha"] = table["pixels"] * grid.res**2 / 1e4
    return table[PARTIAL_COLUMNS]
