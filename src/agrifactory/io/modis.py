"""MODIS 8-day NDVI composites: the composite calendar, file names and scaling.

An 8-day composite starts on day of year 1, 9, 17, ..., 361 of every year (the
last one of a year is 5 or 6 days long) and is named by its start date in the
MODIS form ``AYYYYDDD``. NDVI is stored as int16 x 10000 with fill -3000 unless
the file says otherwise (its nodata and a ``scale_factor`` tag). A file without
the tag is scaled by :data:`NDVI_SCALE`, the documented default
(docs/data-formats.md), and the ingest logs a WARNING naming it and records it in
the tile's QA table.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np

from agrifactory.errors import InputError

#: Scale of NDVI digital numbers where a file has no :data:`SCALE_TAG` (NDVI x 10000).
NDVI_SCALE = 1e-4
#: The GeoTIFF metadata tag that gives a composite's scale (NDVI = DN x scale).
SCALE_TAG = "scale_factor"
NDVI_FILL = -3000
COMPOSITE_DAYS = 8

_DATE_IN_NAME = re.compile(r"\.A(\d{4})(\d{3})\.")


def composite_starts(year: int) -> list[dt.date]:
    """The 46 composite start dates of ``year``."""
    jan1 = dt.date(year, 1, 1)
    return [
        jan1 + dt.timedelta(days=d)
        for d in range(0, 366, COMPOSITE_DAYS)
        if (jan1 + dt.timedelta(days=d)).year == year
    ]


def composite_dates(year: int, margin_days: int = 0) -> list[dt.date]:
    """Composite start dates of ``year`` plus those of the neighbouring years within the margin."""
    lo = dt.date(year, 1, 1) - dt.timedelta(days=margin_days)
    hi = dt.date(year, 12, 31) + dt.timedelta(days=margin_days)
    dates = composite_starts(year - 1) + composite_starts(year) + composite_starts(year + 1)
    return [d for d in dates if lo <= d <= hi]


def composite_containing(date: dt.date) -> dt.date:
    """The start date of the composite period that contains ``date``."""
    doy = date.timetuple().tm_yday
    return dt.date(date.year, 1, 1) + dt.timedelta(
        days=(doy - 1) // COMPOSITE_DAYS * COMPOSITE_DAYS
    )


def modis_file_name(start: dt.date, product: str = "MOD09Q1", tile: str = "h26v04") -> str:
    """``MOD09Q1.A2021001.h26v04.061.NDVI.tif`` for a composite start date."""
    return modis_name_pattern(start.timetuple().tm_yday, "{year}", product, tile).format(
        year=start.year
    )


def modis_name_pattern(
    doy: int, year: str = "{year}", product: str = "MOD09Q1", tile: str = "h26v04"
) -> str:
    """The name of :func:`modis_file_name` for a day of year, with ``year`` as given
    (e.g. a wildcard of the workflow)."""
    return f"{product}.A{year}{doy:03d}.{tile}.061.NDVI.tif"


def date_from_name(path: str | Path) -> dt.date:
    """The composite start date coded as ``.AYYYYDDD.`` in a MODIS file name."""
    m = _DATE_IN_NAME.search(Path(path).name)
    if not m:
        raise InputError(
            path,
            "no MODIS date (.AYYYYDDD.) in the file name",
            "name files like MOD09Q1.A2021001.h26v04.061.NDVI.tif",
        )
    year, doy = int(m.group(1)), int(m.group(2))
    if not 1 <= doy <= 366:
        raise InputError(path, f"day of year {doy} in the file name is not 1..366")
    return dt.date(year, 1, 1) + dt.timedelta(days=doy - 1)


def tagged_scale(tags: dict[str, str]) -> float | None:
    """The scale a file's tags give (:data:`SCALE_TAG`), or None where it has none.

    Raises ValueError when the tag is not a number.
    """
    value = tags.get(SCALE_TAG)
    return None if value is None else float(value)


def scale_ndvi(dn: np.ndarray, *, nodata: float | None, scale: float = NDVI_SCALE) -> np.ndarray:
    """Scaled NDVI as float32 with fill and out-of-range values as NaN.

    NaN from warping (pixels the file does not cover) stays NaN.
    """
    dn = np.asarray(dn, dtype=np.float32)
    out = dn * np.float32(scale)
    bad = ~np.isfinite(dn)
    if nodata is not None:
        bad |= dn == nodata
    bad |= (out < -1.0) | (out > 1.0)
    out[bad] = np.nan
    return out
