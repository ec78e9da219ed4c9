"""The report's view of the areas per unit: cropland, irrigated and rainfed land and
every crop type per province or county, in the run's area unit (and in ha on request)."""

from __future__ import annotations

import pandas as pd

from agrifactory.aggregate.classes import PRODUCTS, REDUNDANT_CLASSES, area_column
from agrifactory.io.statistics import to_hectares

#: Classes left off the view besides the redundant ones: the cropland product's "other".
HIDDEN_CLASSES = {("cropland", 0)}


def shown_classes() -> list[str]:
    """Column stems of the classes the view shows, product by product in legend order."""
    return [
        area_column(product, code)
        for product, classes in PRODUCTS.items()
        for code in classes
        if (product, code) not in REDUNDANT_CLASSES | HIDDEN_CLASSES
    ]


def unit_areas_view(table: pd.DataFrame, unit: str, *, also_ha: bool = False) -> pd.DataFrame:
    """A one-row-per-unit area table (:func:`agrifactory.aggregate.sums.area_table` in
    ``unit``) cut to what a reader compares: ``adcode, name, coverage_pct`` and the area
    of every shown class in ``unit``; with ``also_ha`` the same areas again in ha.

    Classes of products the run did not aggregate are left out.
    """
    stems = [s for s in shown_classes() if f"{s}_{unit}" in table.columns]
    view = table[["adcode", "name"]].copy()
    view["coverage_pct"] = 100 * table["coverage"].astype(float)
    for stem in stems:
        view[f"{stem}_{unit}"] = table[f"{stem}_{unit}"].astype(float)
    if also_ha and unit != "ha":
        for stem in stems:
            view[f"{stem}_ha"] = to_hectares(table[f"{stem}_{unit}"].to_numpy(float), unit)
    return view
