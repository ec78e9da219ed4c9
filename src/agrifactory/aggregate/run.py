"""The aggregation fan-in of one year: partial tables -> area tables -> comparison with statistics."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from agrifactory import boundaries
from agrifactory.aggregate.accuracy import read_accuracy
from agrifactory.aggregate.compare import (
    compare_with_statistics,
    read_official,
    summarize_comparison,
)
from agrifactory.aggregate.fanin import (
    area_table,
    check_conservation,
    combine_partials,
)
from agrifactory.io.tables import write_table
from agrifactory.report.charts import comparison_bars, comparison_scatter
from agrifactory.report.tables import write_html_table

log = logging.getLogger(__name__)


def aggregate_year(
    partials: Sequence[str | Path],
    units: Mapping[str, str | Path],
    statistics: Mapping[str, str | Path],
    outputs: Mapping[str, Mapping[str, str | Path]],
    config: Mapping[str, Any],
    accuracy: Sequence[str | Path] = (),
) -> dict[str, pd.DataFrame]:
    """Sum the per-tile partial areas and compare them with official statistics.

    Parameters
    ----------
    partials
        Per-tile partial tables (``agrifactory.aggregate.zonal.tile_areas``).
    units
        Boundary GeoPackage per level (``province``, ``county``).
    statistics
        Official table per level (levels without one get areas but no comparison).
    outputs
        Per level: ``areas`` (CSV) and, for levels with statistics, ``comparison``
        (CSV), ``comparison_html``, ``summary`` (CSV), ``bars`` and ``scatter`` (PNG);
        under the key ``run``: ``conservation`` (CSV).
    config
        The ``aggregate`` config section (``compare.unit`` per level, ``tolerance``,
        ``min_coverage``, ``quantity``).
    accuracy
        Area-estimate tables of the accuracy assessment (Olofsson et al. 2014), shown
        beside the pixel-count areas.
    """
    areas = combine_partials(partials)
    conservation = check_conservation(areas)
    write_table(conservation, outputs["run"]["conservation"])
    acc = pd.concat([read_accuracy(p) for p in accuracy], ignore_index=True) if accuracy else None
    cmp_cfg = config["compare"]
    results: dict[str, pd.DataFrame] = {}
    for level, units_path in units.items():
        gdf = boundaries.read_units(units_path)
        unit = cmp_cfg["unit"][level]
        table = area_table(areas, gdf, level, unit=unit)
        write_table(table, outputs[level]["areas"])
        results[f"{level}_areas"] = table
        if level not in statistics:
            continue
        official = read_official(statistics[level], gdf, quantity=cmp_cfg.get("quantity"))
        comparison = compare_with_statistics(
            area_table(areas, gdf, level, unit="ha"),
            official,
            unit=unit,
            tolerance=cmp_cfg["tolerance"],
            min_coverage=cmp_cfg["min_coverage"],
            accuracy=acc,
        )
        summary = summarize_comparison(comparison, tolerance=cmp_cfg["tolerance"])
        write_table(comparison, outputs[level]["comparison"])
        write_table(summary, outputs[level]["summary"])
        write_html_table(
            comparison,
            outputs[level]["comparison_html"],
            title=f"Mapped vs official cropland by {level}",
            caption=f"Official figures from {statistics[level]}; units named in every column.",
            flag_column=[c for c in comparison.columns if c.startswith("within_")][0],
        )
        comparison_bars(
            comparison, outputs[level]["bars"], title=f"Cropland by {level}: mapped vs official"
        )
        comparison_scatter(
            comparison,
            outputs[level]["scatter"],
            tolerance=cmp_cfg["tolerance"],
            summary=summary.iloc[0].to_dict(),
            title=f"Cropland by {level}",
        )
        log.info("%s: %s", level, summary.iloc[0].to_dict())
        results[f"{level}_comparison"] = comparison
    return results
