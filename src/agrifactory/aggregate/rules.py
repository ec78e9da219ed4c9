"""The aggregation stage's contract: its settings, its output names, one function per rule.

Rules (``workflow/rules/aggregate.smk``):

``aggregate_tile``
    Class areas of one tile-year per province and county: the partial table
    ``<tile-year>/aggregate/areas.csv`` (:func:`aggregate_tile`).
``aggregate``
    The fan-in of a year: partial tables summed, the conservation check, one area
    table per level and, for levels with official statistics, the comparison
    table, its summary and charts (:func:`aggregate`).
``aggregate_sources_tile``
    Cropland areas of every map of a tile-year's ``integration/maps.tif`` (the
    factory's own, the other products, the majority vote, the integrated map) per
    province and county: ``<tile-year>/aggregate/sources_areas.csv``
    (:func:`aggregate_sources_tile`).
``aggregate_sources``
    The fan-in of a year for the levels with official statistics: the CropLayer
    table (every map's area per unit beside the official figure) and its summary
    (:func:`aggregate_sources`).

This module imports no heavy library at module level: the workflow imports it when
it is parsed (settings, output names).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import Field

from agrifactory.aggregate.classes import PRODUCTS as CLASS_PRODUCTS
from agrifactory.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

#: How border pixels are shared between units.
Method = Literal["fraction", "centre"]
#: Administrative levels.
Level = Literal["province", "county"]
#: Class products whose areas are summed (those of :mod:`agrifactory.aggregate.classes`).
Product = Literal[tuple(CLASS_PRODUCTS)]  # type: ignore[valid-type]
#: Area units of the tables (factors in :mod:`agrifactory.io.statistics`).
AreaUnit = Literal["ha", "kha", "km2", "mu", "wan_mu"]

#: The methods, levels and products, in their documented order.
METHODS: tuple[str, ...] = get_args(Method)
LEVELS: tuple[str, ...] = get_args(Level)
PRODUCTS: tuple[str, ...] = get_args(Product)


class CompareSettings(Settings):
    """Comparison with the official statistics of inputs.statistics."""

    quantity: str = "cropland"
    """Quantity of the statistics table to compare (its <quantity>_<unit> column)."""

    unit: AreaUnit = "kha"
    """Area unit of every level's tables and charts (named in every column header)."""

    tolerance: Annotated[float, Field(gt=0)] = 0.10
    """A unit agrees when mapped is within this relative difference of official."""

    min_coverage: Annotated[float, Field(ge=0, le=1)] = 0.8
    """Units whose area is mapped less than this share are 'partly mapped', not compared
    (never counted within the tolerance)."""

    min_units_for_fit: Annotated[int, Field(ge=2)] = 5
    """Least number of compared units for the fit statistics (R² against the 1:1 line,
    squared correlation); with fewer they are left empty."""


class AggregateSettings(Settings):
    """Class areas per province and county, compared with official statistics (docs/aggregation.md)."""

    method: Method = "fraction"
    """Split border pixels by the exact fraction inside each unit, or give each pixel to
    the unit holding its centre."""

    levels: list[Level] = list(LEVELS)
    """Administrative levels to aggregate to."""

    products: list[Product] = list(PRODUCTS)
    """Class products whose areas are summed."""

    compare: CompareSettings = CompareSettings()
    """Comparison with the official statistics of inputs.statistics."""


# --- output names ----------------------------------------------------------------

#: The partial table of rule aggregate_tile, in the tile-year's ``aggregate`` folder.
PARTIAL = "areas.csv"
#: The conservation check of rule aggregate, in the year's folder.
CONSERVATION = "conservation.csv"
#: Per level (every level): output key -> file name pattern.
LEVEL_OUTPUTS = {"areas": "{level}_areas.csv", "areas_html": "{level}_areas.html"}
#: Per level with official statistics: output key -> file name pattern.
COMPARED_OUTPUTS = {
    "comparison": "{level}_comparison.csv",
    "comparison_html": "{level}_comparison.html",
    "summary": "{level}_summary.csv",
    "summary_html": "{level}_summary.html",
    "bars": "{level}_bars.png",
    "scatter": "{level}_scatter.png",
}


#: The partial table of rule aggregate_sources_tile, in the tile-year's ``aggregate`` folder.
SOURCES_PARTIAL = "sources_areas.csv"
#: Per level with official statistics, rule aggregate_sources: output key -> file name pattern.
SOURCES_OUTPUTS = {
    "sources": "{level}_sources.csv",
    "sources_html": "{level}_sources.html",
    "sources_summary": "{level}_sources_summary.csv",
    "sources_summary_html": "{level}_sources_summary.html",
}


def sources_outputs(folder: str, compared: Sequence[str]) -> dict[str, str]:
    """Rule aggregate_sources' named outputs in ``folder``: ``<level>_<key>`` per compared level."""
    return {
        f"{level}_{key}": f"{folder}/{name.format(level=level)}"
        for level in compared
        for key, name in SOURCES_OUTPUTS.items()
    }


def level_keys(level: str, compared: bool) -> dict[str, str]:
    """``{key: file name}`` of one level's outputs (keys as in :data:`LEVEL_OUTPUTS`)."""
    names = {**LEVEL_OUTPUTS, **(COMPARED_OUTPUTS if compared else {})}
    return {key: name.format(level=level) for key, name in names.items()}


def aggregate_outputs(
    folder: str, levels: Sequence[str], compared: Sequence[str]
) -> dict[str, str]:
    """Rule aggregate's named outputs in ``folder``: ``conservation`` and ``<level>_<key>``."""
    out = {"conservation": f"{folder}/{CONSERVATION}"}
    for level in levels:
        for key, name in level_keys(level, level in compared).items():
            out[f"{level}_{key}"] = f"{folder}/{name}"
    return out


#: Comparison-table columns that move into the page's caption when every row holds the
#: same value (the CSV keeps them).
CONSTANT_COLUMNS = ("level", "official_unit", "reference_date", "source")


# --- rules -----------------------------------------------------------------------


def aggregate_tile(job: Any) -> None:
    """Rule aggregate_tile: class areas of one tile-year per unit of every level."""
    from agrifactory.aggregate import sums, zonal
    from agrifactory.grid import Tile, job_grid
    from agrifactory.logs import setup_logging

    setup_logging(job.log[0])
    p = job.params
    settings = AggregateSettings.build(
        {"method": p.method, "products": p.products, "levels": p.levels}, "aggregate"
    )
    tile = Tile.from_id(job.wildcards.tile, p.tile_km, job_grid(p))
    paths = {"province": job.input.provinces, "county": job.input.counties}
    units = {level: zonal.read_units_near(paths[level], tile) for level in settings.levels}
    products = {name: job.input[name] for name in settings.products}
    areas = zonal.tile_areas(products, tile, units, method=settings.method)
    sums.write_partial(areas, job.output[0])


def aggregate(job: Any) -> None:
    """Rule aggregate: sum the tiles' partial areas; compare them with the official statistics."""
    from agrifactory.logs import setup_logging

    setup_logging(job.log[0])
    settings = AggregateSettings.build(job.params.aggregate, "aggregate")
    compared = list(job.params.compared)
    outputs = {
        level: {key: job.output[f"{level}_{key}"] for key in level_keys(level, level in compared)}
        for level in settings.levels
    }
    aggregate_year(
        job.input.partials,
        {level: job.input[level] for level in settings.levels},
        {level: job.input[f"statistics_{level}"] for level in compared},
        job.output.conservation,
        outputs,
        settings.compare,
        accuracy=job.input.get("accuracy", []),
    )


def aggregate_year(
    partials: Sequence[str | Path],
    units: Mapping[str, str | Path],
    statistics: Mapping[str, str | Path],
    conservation: str | Path,
    outputs: Mapping[str, Mapping[str, str | Path]],
    settings: CompareSettings,
    accuracy: Sequence[str | Path] = (),
) -> dict[str, pd.DataFrame]:
    """Sum the per-tile partial areas and compare them with official statistics.

    Parameters
    ----------
    partials
        Per-tile partial tables (:func:`agrifactory.aggregate.zonal.tile_areas`).
    units
        Boundary GeoPackage per level (``province``, ``county``).
    statistics
        Official table per level (levels without one get areas but no comparison).
    conservation
        Where the conservation check goes (CSV).
    outputs
        Per level, the files of :func:`level_keys`: ``areas`` and, for levels with
        statistics, ``comparison``, ``comparison_html``, ``summary``, ``summary_html``,
        ``bars``, ``scatter``.
    settings
        The ``aggregate.compare`` settings.
    accuracy
        Area-estimate tables of the accuracy assessment (Olofsson et al. 2014), shown
        beside the pixel-count areas.
    """
    import pandas as pd

    from agrifactory import boundaries
    from agrifactory.aggregate.accuracy import read_accuracy
    from agrifactory.aggregate.sums import area_table, check_conservation, combine_partials
    from agrifactory.io.tables import write_table

    areas = combine_partials(partials)
    write_table(check_conservation(areas), conservation)
    acc = pd.concat([read_accuracy(p) for p in accuracy], ignore_index=True) if accuracy else None
    results: dict[str, pd.DataFrame] = {}
    for level, units_path in units.items():
        gdf = boundaries.read_units(units_path)
        unit = settings.unit
        table = area_table(areas, gdf, level, unit=unit)
        write_table(table, outputs[level]["areas"])
        write_areas_page(table, level, outputs[level]["areas_html"], settings)
        results[f"{level}_areas"] = table
        if level in statistics:
            results[f"{level}_comparison"] = compare_level(
                area_table(areas, gdf, level, unit="ha"),
                gdf,
                level,
                statistics[level],
                outputs[level],
                settings,
                acc,
            )
    return results


def write_areas_page(
    table: pd.DataFrame, level: str, path: str | Path, settings: CompareSettings
) -> Path:
    """The report page of one level's areas per unit (counties also in ha)."""
    from agrifactory.aggregate.areas import unit_areas_view
    from agrifactory.report.tables import write_html_table

    unit = settings.unit
    also_ha = level == "county" and unit != "ha"
    view = unit_areas_view(table, unit, also_ha=also_ha)
    ha = [c for c in view.columns if also_ha and c.endswith("_ha")]
    return write_html_table(
        view.drop(columns=ha),
        path,
        title=f"Mapped cropland, irrigated land and crop types by {level} ({unit})",
        caption=f"Areas mapped inside the run's tiles, in {unit}"
        + (" and below again in ha" if also_ha else "")
        + "; coverage_pct is the mapped share of the whole unit, so a unit the tiles only "
        "touch shows a small part of its cropland. Last row: the total inside all units.",
        sections=[("The same areas in ha", view[["adcode", "name", *ha]])] if ha else (),
    )


def compare_level(
    areas_ha: pd.DataFrame,
    units: Any,
    level: str,
    statistics: str | Path,
    outputs: Mapping[str, str | Path],
    settings: CompareSettings,
    accuracy: pd.DataFrame | None,
) -> pd.DataFrame:
    """Compare one level's mapped areas (ha) with its official table; write the table,
    its summary, an HTML table and the charts. Returns the comparison table."""
    import logging

    import pandas as pd

    from agrifactory.aggregate.compare import (
        compare_with_statistics,
        read_official,
        summarize_comparison,
    )
    from agrifactory.io.tables import write_table
    from agrifactory.report.charts import comparison_bars, comparison_scatter
    from agrifactory.report.tables import constant_columns, write_html_table

    unit = settings.unit
    official = read_official(statistics, units, quantity=settings.quantity)
    comparison = compare_with_statistics(
        areas_ha,
        official,
        unit=unit,
        tolerance=settings.tolerance,
        min_coverage=settings.min_coverage,
        accuracy=accuracy,
    )
    summary = summarize_comparison(
        comparison, tolerance=settings.tolerance, min_units_for_fit=settings.min_units_for_fit
    )
    write_table(comparison, outputs["comparison"])
    write_table(summary, outputs["summary"])
    figures = summary.iloc[0]
    write_html_table(
        pd.DataFrame({"figure": figures.index, "value": list(figures.to_numpy())}),
        outputs["summary_html"],
        title=f"Mapped vs official cropland by {level}: summary",
        caption=f"One figure per row (the columns of {Path(outputs['summary']).name}); R² only "
        f"with at least {settings.min_units_for_fit} compared units.",
    )
    shown, same = constant_columns(comparison, CONSTANT_COLUMNS)
    if same.get("official_unit") == unit:  # the published figure is official_<unit> itself
        shown = shown.drop(columns="official_value")
    write_html_table(
        shown,
        outputs["comparison_html"],
        title=f"Mapped vs official cropland by {level}",
        caption=f"Official figures from {Path(statistics).name}"
        + "".join(f"; {k.replace('_', ' ')}: {v}" for k, v in same.items())
        + f". Areas in {unit}, the unit named in every column; coverage_pct is the mapped "
        f"share of the unit; a unit under {settings.min_coverage:.0%} coverage is partly "
        "mapped and not compared.",
        flag_column=[c for c in comparison.columns if c.startswith("within_")][0],
    )
    comparison_bars(comparison, outputs["bars"], title=f"Cropland by {level}: mapped vs official")
    comparison_scatter(
        comparison,
        outputs["scatter"],
        tolerance=settings.tolerance,
        summary=summary.iloc[0].to_dict(),
        title=f"Cropland by {level}",
    )
    logging.getLogger(__name__).info("%s: %s", level, summary.iloc[0].to_dict())
    return comparison


def aggregate_sources_tile(job: Any) -> None:
    """Rule aggregate_sources_tile: every map's cropland areas of one tile-year per unit."""
    from agrifactory.aggregate import sources, sums, zonal
    from agrifactory.grid import Tile, job_grid
    from agrifactory.logs import setup_logging

    setup_logging(job.log[0])
    p = job.params
    settings = AggregateSettings.build({"method": p.method, "levels": p.levels}, "aggregate")
    tile = Tile.from_id(job.wildcards.tile, p.tile_km, job_grid(p))
    paths = {"province": job.input.provinces, "county": job.input.counties}
    units = {level: zonal.read_units_near(paths[level], tile) for level in settings.levels}
    areas = sources.tile_source_areas(job.input.maps, tile, units, settings.method)
    sums.write_partial(areas, job.output[0])


def aggregate_sources(job: Any) -> None:
    """Rule aggregate_sources: the CropLayer table and its summary of every compared level."""
    from agrifactory.logs import setup_logging

    setup_logging(job.log[0])
    settings = AggregateSettings.build(job.params.aggregate, "aggregate")
    for level in job.params.compared:
        sources_level(
            job.input.partials,
            job.input[level],
            job.input[f"statistics_{level}"],
            level,
            {key: job.output[f"{level}_{key}"] for key in SOURCES_OUTPUTS},
            settings.compare,
        )


#: What each of the factory's own maps in maps.tif is (the others are products of
#: integration.products, by their config names).
SOURCE_ROLES = {
    "factory": "the factory's own cropland map",
    "majority": "the majority vote of the maps",
    "integrated": "the integrated map (CropLayer: a per-pixel LightGBM model on all maps)",
}


def sources_level(
    partials: Sequence[str | Path],
    units: str | Path,
    statistics: str | Path,
    level: str,
    outputs: Mapping[str, str | Path],
    settings: CompareSettings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every map's cropland area of one level against official statistics: write the
    CropLayer table and its summary (:data:`SOURCES_OUTPUTS` keys in ``outputs``), as CSV
    and as report pages. Returns ``(table, summary)``."""
    from agrifactory import boundaries
    from agrifactory.aggregate.sources import source_comparison
    from agrifactory.io.tables import write_table
    from agrifactory.report.tables import write_html_table

    gdf = boundaries.read_units(units)
    table, summary = source_comparison(partials, gdf, statistics, level, settings)
    write_table(table, outputs["sources"])
    write_table(summary, outputs["sources_summary"])
    names = list(summary["source"])
    maps = "; ".join(
        f"{name}: {SOURCE_ROLES.get(name, 'another cropland product (integration.products)')}"
        for name in names
    )
    tol = f"±{settings.tolerance:.0%}"
    official = Path(statistics).name
    unit, ids = settings.unit, ["adcode", "name"]
    areas = table[[*ids, "status", f"official_{unit}", *(f"{n}_{unit}" for n in names)]]
    write_html_table(
        areas,
        outputs["sources_html"],
        title=f"Cropland by {level}: every map against the official figures",
        caption=f"Cropland mapped by each map ({maps}) beside the official cropland of "
        f"{official}, in {unit}; below, each map's difference (mapped − official, in % of "
        f"official) and whether it is within {tol}. Only units whose mapped share is at "
        f"least {settings.min_coverage:.0%} are compared (status). The CSV holds all three "
        "in one table.",
        sections=[
            (
                "Difference to the official figure (%)",
                table[[*ids, *(f"{n}_diff_pct" for n in names)]],
            ),
            (f"Within {tol}", table[[*ids, *(f"{n}_within" for n in names)]]),
        ],
        flag_column=[f"{name}_within" for name in names],
    )
    shown = [
        "source",
        "n_compared",
        f"n_within_{settings.tolerance * 100:g}pct",
        f"share_within_{settings.tolerance * 100:g}pct",
        f"mapped_compared_{unit}",
        f"official_compared_{unit}",
        "compared_relative_difference_pct",
        "r2_1to1",
    ]
    write_html_table(
        summary[[c for c in shown if c in summary.columns]],
        outputs["sources_summary_html"],
        title=f"Cropland by {level}: how many units each map gets within {tol}",
        caption=f"One row per map ({maps}): compared units within {tol} of {official}, "
        f"their share, and the total mapped vs the total official over the compared units "
        f"({unit}); R² only with at least {settings.min_units_for_fit} compared units. "
        "The CSV holds every figure of the comparison summary.",
    )
    return table, summary
