"""Cropland areas of every map of a tile, per unit, against official statistics (CropLayer).

The integration stage writes, per tile-year, ``integration/maps.tif``: one uint8 band
per cropland map (the factory's own map, every other product by its config name, the
majority vote and the integrated map; band descriptions are the map names), each with
the codes of :data:`agrifactory.legend.CROPLAND` and nodata 255. This module counts
them exactly as :mod:`~agrifactory.aggregate.zonal` counts the factory's products
(every band as product ``cropland``), sums the tiles with
:mod:`~agrifactory.aggregate.sums` and compares every map with the official figures
with :func:`~agrifactory.aggregate.compare.compare_with_statistics`: the same status,
coverage rule and tolerance, one map at a time. The CropLayer table sets the maps side
by side, one row per unit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from agrifactory import boundaries
from agrifactory.aggregate.compare import (
    NO_STATISTIC,
    compare_with_statistics,
    read_official,
    summarize_comparison,
    within_column,
)
from agrifactory.aggregate.rules import CompareSettings
from agrifactory.aggregate.sums import area_table, check_conservation, combine_partials
from agrifactory.aggregate.zonal import (
    PARTIAL_COLUMNS,
    check_codes,
    level_areas,
    prepare_levels,
)
from agrifactory.errors import InputError
from agrifactory.grid import Tile
from agrifactory.io.raster import check_on_grid, open_raster

log = logging.getLogger(__name__)

#: Product under which every band is counted (its legend: 0 other, 1 cropland, 255 nodata).
PRODUCT = "cropland"
#: The statistics' quantity every map is compared with.
QUANTITY = "cropland"

#: Columns of a per-tile partial table of the maps: zonal's, with ``source`` (the map).
SOURCE_PARTIAL_COLUMNS = [*PARTIAL_COLUMNS[:4], "source", *PARTIAL_COLUMNS[4:]]


def read_maps(path: str | Path, tile: Tile) -> dict[str, np.ndarray]:
    """Every band of a tile's ``maps.tif``, by map name (its band description).

    Raises
    ------
    InputError
        A band not uint8, a band without a name, or a name used twice.
    GridError
        Not on the tile's grid.
    DataError
        Codes other than 0, 1 and 255 (named with the band).
    """
    grid = tile.grid()
    with open_raster(path) as src:
        types = sorted(set(src.dtypes))
        if types != ["uint8"]:
            raise InputError(path, f"expected uint8 cropland maps, found bands of {types}")
        check_on_grid({"crs": src.crs, "transform": src.transform}, grid, path, src.shape)
        names = [d or "" for d in src.descriptions]
        if "" in names or len(set(names)) != len(names):
            raise InputError(
                path,
                f"band descriptions {names} must name every map once",
                "rerun the 'integrate' rule",
            )
        arrays = {name: src.read(i) for i, name in enumerate(names, start=1)}
    for i, (name, arr) in enumerate(arrays.items(), start=1):
        check_codes(arr, PRODUCT, f"{path} band {i} ({name})")
    return arrays


def tile_source_areas(
    maps: str | Path, tile: Tile, units: Mapping[str, gpd.GeoDataFrame], method: str
) -> pd.DataFrame:
    """The partial table of one tile: every map's class areas per unit of every level.

    Parameters
    ----------
    maps
        The tile-year's ``maps.tif`` (one band per map, named by its description).
    tile
        The tile; the file must lie on its 30 m grid.
    units
        Units by level name, any CRS (:func:`~agrifactory.aggregate.zonal.read_units_near`).
    method
        ``'fraction'`` or ``'centre'`` (:func:`~agrifactory.aggregate.zonal.unit_pixel_sums`).

    Returns
    -------
    DataFrame with :data:`SOURCE_PARTIAL_COLUMNS`: zonal's partial table (product
    ``cropland``: classes ``cropland``, ``other``, ``nodata``) with the map's name in
    ``source``, maps in band order.
    """
    arrays = read_maps(maps, tile)
    prepared = prepare_levels(units, tile)
    tables = [
        level_areas({PRODUCT: arr}, tile, prepared, method=method).assign(source=name)
        for name, arr in arrays.items()
    ]
    return pd.concat(tables, ignore_index=True)[SOURCE_PARTIAL_COLUMNS]


def read_source_partial(path: str | Path) -> pd.DataFrame:
    """Read a partial table written from :func:`tile_source_areas`."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "partial area table not found", "rerun the tile's sources job")
    table = pd.read_csv(
        path, dtype={"tile": str, "adcode": str, "level": str, "class": str, "source": str}
    )
    missing = [c for c in SOURCE_PARTIAL_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(path, f"is not a partial table of the maps: columns {missing} are missing")
    return table


def source_comparison(
    partials: Iterable[pd.DataFrame | str | Path],
    units: gpd.GeoDataFrame | str | Path,
    statistics: pd.DataFrame | str | Path,
    level: str,
    settings: CompareSettings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every map's cropland area per unit of one level against the official figures.

    Parameters
    ----------
    partials
        Per-tile tables of :func:`tile_source_areas` (or their CSV files).
    units
        The level's boundary units (or their GeoPackage).
    statistics
        Official statistics of the level (:func:`~agrifactory.aggregate.compare.read_official`,
        or its file); their ``cropland`` quantity is compared.
    level
        ``'province'`` or ``'county'``.
    settings
        Unit, tolerance, least coverage and least units for a fit (``aggregate.compare``).

    Returns
    -------
    table
        The CropLayer table: one row per unit with an official figure (and the national
        row last, where the statistics have one): ``level``, ``adcode``, ``name``,
        ``status``, ``official_<u>``, then per map ``<map>_<u>``, ``<map>_diff_pct``
        (mapped − official, % of official) and ``<map>_within`` (within the tolerance;
        empty unless compared). ``status`` is the status of
        :func:`~agrifactory.aggregate.compare.compare_with_statistics`, or, where the maps
        differ (one partly mapped, another not), the maps grouped by status.
    summary
        One row per map: :func:`~agrifactory.aggregate.compare.summarize_comparison`'s
        figures (``n_compared``, ``n_within_<t>pct``, ``share_within_<t>pct``,
        ``mapped_compared_<u>``, ``official_compared_<u>``, ...) after ``source``, and
        ``compared_relative_difference_pct`` (total mapped vs total official over the
        compared units).
    """
    frames = [p if isinstance(p, pd.DataFrame) else read_source_partial(p) for p in partials]
    table = pd.concat(frames, ignore_index=True)
    table = table[table["level"] == level]
    gdf = units if isinstance(units, gpd.GeoDataFrame) else boundaries.read_units(units)
    official = (
        statistics
        if isinstance(statistics, pd.DataFrame)
        else read_official(statistics, gdf, quantity=QUANTITY)
    )
    comparisons = {}
    for source in pd.unique(table["source"]):
        areas = combine_partials([table[table["source"] == source].drop(columns="source")])
        check_conservation(areas)
        comparisons[source] = compare_with_statistics(
            area_table(areas, gdf, level, unit="ha"),
            official,
            unit=settings.unit,
            tolerance=settings.tolerance,
            min_coverage=settings.min_coverage,
        )
        log.info("%s %s compared with %d official figures", level, source, len(official))
    return _wide_table(comparisons, settings), _summary(comparisons, settings)


def _wide_table(comparisons: Mapping[str, pd.DataFrame], settings: CompareSettings) -> pd.DataFrame:
    """The CropLayer table from every map's comparison table (rows with official figures)."""
    unit, flag = settings.unit, within_column(settings.tolerance)
    first = next(iter(comparisons.values()))
    keep = first["status"] != NO_STATISTIC
    out = first.loc[keep, ["level", "adcode", "name", "status", f"official_{unit}"]]
    out = out.set_index("adcode")
    statuses = {}
    for source, comp in comparisons.items():
        comp = comp.set_index("adcode").reindex(out.index)
        out[f"{source}_{unit}"] = comp[f"mapped_{unit}"]
        out[f"{source}_diff_pct"] = comp["relative_difference_pct"]
        out[f"{source}_within"] = comp[flag]
        statuses[source] = comp["status"]
    out["status"] = pd.DataFrame(statuses).apply(_joint_status, axis=1)
    return out.reset_index()[["level", "adcode", *out.columns.drop("level")]]


def _joint_status(statuses: pd.Series) -> str:
    """One unit's status: the maps' common one, else each status with its maps."""
    groups = {s: [m for m, v in statuses.items() if v == s] for s in pd.unique(statuses)}
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{s}: {', '.join(maps)}" for s, maps in groups.items())


def _summary(comparisons: Mapping[str, pd.DataFrame], settings: CompareSettings) -> pd.DataFrame:
    """One row of :func:`summarize_comparison` per map, with the total difference."""
    rows = [
        summarize_comparison(
            comp, tolerance=settings.tolerance, min_units_for_fit=settings.min_units_for_fit
        ).assign(source=source)
        for source, comp in comparisons.items()
    ]
    out = pd.concat(rows, ignore_index=True)
    unit = settings.unit
    mapped, official = out[f"mapped_compared_{unit}"], out[f"official_compared_{unit}"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["compared_relative_difference_pct"] = np.where(
            official > 0, 100.0 * (mapped - official) / official, np.nan
        )
    return out[["source", *out.columns.drop("source")]]
