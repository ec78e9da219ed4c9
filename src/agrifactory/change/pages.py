"""The change stage's report page: a summary per unit and a transition matrix per province."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from agrifactory.aggregate.classes import TOTAL_ADCODE
from agrifactory.change.rules import ChangeSettings
from agrifactory.change.transitions import transition_matrix
from agrifactory.report.tables import write_html_table


def change_summary(table: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """Per unit of a :func:`~agrifactory.change.transitions.transition_table`: km² mapped in
    both years, changed, the changed share, km² without data in a year, and the flagged
    blocks of the product (counted for the national row only: flags carry no unit)."""
    km2 = table.pivot_table(
        index=["adcode", "name"], columns="kind", values="area_km2", aggfunc="sum", fill_value=0.0
    )
    km2 = km2.reindex(
        columns=["unchanged", "changed", "nodata_previous", "nodata_current", "nodata_both"],
        fill_value=0.0,
    )
    out = pd.DataFrame(index=km2.index)
    out["mapped_both_km2"] = km2["unchanged"] + km2["changed"]
    out["changed_km2"] = km2["changed"]
    out["changed_share"] = out["changed_km2"] / out["mapped_both_km2"].where(lambda s: s > 0)
    out["nodata_km2"] = km2[["nodata_previous", "nodata_current", "nodata_both"]].sum(axis=1)
    out = out.reset_index()
    product = table["product"].iloc[0] if len(table) else ""
    sel = flags[flags["product"] == product]
    blocks = sel.drop_duplicates(["block_id"]).shape[0]
    out["flagged_blocks"] = [blocks if a == TOTAL_ADCODE else pd.NA for a in out["adcode"]]
    is_total = out["adcode"] == TOTAL_ADCODE
    return pd.concat([out[~is_total], out[is_total]], ignore_index=True).round(4)


def transitions_page(
    tables: Mapping[tuple[str, str], pd.DataFrame],
    flags: pd.DataFrame,
    settings: ChangeSettings,
    years: tuple[int, int],
    path: str | Path,
) -> Path:
    """The year's page: per product a summary per unit of the first level (province
    where it is aggregated), then a from x to matrix (km²) per unit of that level."""
    levels = list(dict.fromkeys(level for _, level in tables))
    level = "province" if "province" in levels else levels[0]
    first = settings.products[0]
    sections: list[tuple[str, pd.DataFrame]] = []
    for i, product in enumerate(settings.products):
        table = tables[product, level]
        if i:
            sections.append((f"{product}: per {level}", change_summary(table, flags)))
        for (adcode, name), unit in table.groupby(["adcode", "name"], sort=False):
            if adcode != TOTAL_ADCODE:
                sections.append((f"{product}, {name} ({adcode}): km²", transition_matrix(unit)))
    reasons = flags.groupby(["product", "reason", "transition"]).size()
    flagged = reasons.rename("blocks").reset_index()
    sections.append(("Flagged blocks (flags.csv lists each one)", flagged))
    return write_html_table(
        change_summary(tables[first, level], flags),
        path,
        title=f"Change of the class maps from {years[0]} to {years[1]}: {first} per {level}",
        caption=(
            f"Areas in km² of the pixels mapped in both {years[0]} and {years[1]} (pair codes "
            "counted per unit as the aggregation counts classes); changed_share is the "
            "changed part of them; nodata_km2: pixels without data in one year or both, "
            "never counted as change. A matrix row is the class in "
            f"{years[0]}, a column the class in {years[1]}. Blocks of {settings.block_m} m "
            f"are flagged where more than {settings.max_flip_share:.0%} of at least "
            f"{settings.min_pixels} pixels mapped in both years changed class, or where a "
            "transition listed in change.implausible occurs."
        ),
        sections=sections,
    )
