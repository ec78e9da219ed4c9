"""The accuracy assessment's area estimates, read and set beside the pixel counts.

The classifier's accuracy assessment (Olofsson et al. 2014, stratified
estimator) writes one tidy CSV per product. This module reads it; its columns
are the contract between the two stages (``docs/aggregation.md``):

========================  ========  ==================================================
column                    required  meaning
========================  ========  ==================================================
``product``               yes       ``cropland``, ``irrigation`` or ``croptype``
``class``                 yes       class name from :mod:`agrifactory.legend`
``region``                no        ``all`` (the whole mapped area, the default) or an adcode
``area_ha``               yes       area-adjusted (error-adjusted) estimate of the class area
``se_ha``                 yes       its standard error
``ci95_low_ha``           yes       lower end of the 95 % confidence interval
``ci95_high_ha``          yes       upper end of the 95 % confidence interval
``mapped_ha``             no        the map's pixel-count area over the same region
``n_reference``           no        number of reference samples used
``reference``             no        free text: which reference sample (set, year)
========================  ========  ==================================================
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.aggregate.classes import PRODUCTS, TOTAL_ADCODE
from agrifactory.errors import InputError

REQUIRED = ["product", "class", "area_ha", "se_ha", "ci95_low_ha", "ci95_high_ha"]
OPTIONAL = ["region", "mapped_ha", "n_reference", "reference"]
ALL_REGIONS = "all"


def read_accuracy(path: str | Path) -> pd.DataFrame:
    """Read and validate an accuracy-assessment area table; errors name the row.

    Returns
    -------
    DataFrame with the required columns, ``region`` (filled with ``'all'``)
    and whichever optional columns are present.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "accuracy table not found", "rerun the accuracy assessment")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(
            path,
            f"lacks columns {missing}; an accuracy table has {REQUIRED} (areas in hectares)",
            "see docs/aggregation.md",
        )
    table = raw[[c for c in REQUIRED + OPTIONAL if c in raw.columns]].copy()
    if "region" not in table.columns:
        table["region"] = ALL_REGIONS
    table["region"] = table["region"].str.strip().replace("", ALL_REGIONS)
    numbers = ["area_ha", "se_ha", "ci95_low_ha", "ci95_high_ha"] + [
        c for c in ("mapped_ha",) if c in table.columns
    ]
    for i, rec in enumerate(table.to_dict("records")):
        _check_row(path, i + 2, rec, numbers)
    for col in numbers:
        table[col] = table[col].astype(float)
    if "n_reference" in table.columns:
        table["n_reference"] = pd.to_numeric(table["n_reference"], errors="coerce").astype("Int64")
    dups = table.duplicated(["product", "class", "region"], keep=False)
    if dups.any():
        rows = [int(i) + 2 for i in np.flatnonzero(dups)]
        raise InputError(path, f"rows {rows} repeat the same product, class and region; keep one")
    return table.reset_index(drop=True)


def _check_row(path: Path, row: int, rec: dict, numbers: list[str]) -> None:
    """Check one record of an accuracy table (``row``: its line in the file)."""
    if rec["product"] not in PRODUCTS:
        raise InputError(
            path,
            f"row {row}: unknown product {rec['product']!r}; use one of {sorted(PRODUCTS)}",
        )
    if rec["class"] not in PRODUCTS[rec["product"]].values():
        raise InputError(
            path,
            f"row {row}: class {rec['class']!r} is not in the {rec['product']} legend "
            f"{sorted(PRODUCTS[rec['product']].values())}",
        )
    region = rec["region"]
    if region != ALL_REGIONS and not (len(region) == 6 and region.isdigit()):
        raise InputError(
            path, f"row {row}: region {region!r} is neither 'all' nor a 6-digit adcode"
        )
    values = {}
    for col in numbers:
        try:
            values[col] = float(rec[col])
        except ValueError:
            raise InputError(path, f"row {row}: {col} {rec[col]!r} is not a number") from None
        if not np.isfinite(values[col]):
            raise InputError(path, f"row {row}: {col} is not finite")
    if values["se_ha"] < 0:
        raise InputError(path, f"row {row}: se_ha {values['se_ha']} is negative")
    if not values["ci95_low_ha"] <= values["area_ha"] <= values["ci95_high_ha"]:
        raise InputError(
            path,
            f"row {row}: the estimate {values['area_ha']} ha lies outside its confidence "
            f"interval [{values['ci95_low_ha']}, {values['ci95_high_ha']}]",
        )


def region_of(adcode: str) -> str:
    """The accuracy ``region`` that matches a row of an area table."""
    return ALL_REGIONS if adcode == TOTAL_ADCODE else adcode
