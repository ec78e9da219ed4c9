"""Satellite missions: when each sensor the factory reads took data.

One table for every check of an acquisition date: an inventory row dated outside
its sensor's mission is refused when the inventory is read, and a run's ``years``
must fall within MODIS (the fusion needs MODIS composites), checked when the run
is planned.

Dates are the first and last days of science data (USGS and NASA mission pages);
``end`` is ``None`` for missions still taking data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Mission:
    """One sensor's mission: its name and the span of its data."""

    name: str
    start: dt.date
    end: dt.date | None = None

    def covers(self, date: dt.date) -> bool:
        """Whether ``date`` lies within the mission."""
        return self.start <= date and (self.end is None or date <= self.end)

    def span(self) -> str:
        """``'from 2013-03-18'`` or ``'1984-03-16 to 2013-06-05'``."""
        if self.end is None:
            return f"from {self.start.isoformat()}"
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


#: Landsat missions by the two digits of the product id's sensor code (``LC08`` -> ``08``).
LANDSAT: dict[str, Mission] = {
    "04": Mission("Landsat 4", dt.date(1982, 8, 22), dt.date(1993, 12, 14)),
    "05": Mission("Landsat 5", dt.date(1984, 3, 16), dt.date(2013, 6, 5)),
    "07": Mission("Landsat 7", dt.date(1999, 5, 28), dt.date(2025, 6, 4)),
    "08": Mission("Landsat 8", dt.date(2013, 3, 18)),
    "09": Mission("Landsat 9", dt.date(2021, 10, 31)),
}

#: MODIS platforms by the first three letters of a product name (``MOD09Q1`` -> Terra).
#: Combined (``MCD``) products start with Terra. A file named otherwise is held to
#: Terra's span, the earliest MODIS data.
MODIS: dict[str, Mission] = {
    "MOD": Mission("Terra MODIS", dt.date(2000, 2, 24)),
    "MYD": Mission("Aqua MODIS", dt.date(2002, 7, 4)),
    "MCD": Mission("Terra MODIS", dt.date(2000, 2, 24)),
}

#: The first MODIS data: a run's years must not end before it.
FIRST_MODIS = MODIS["MOD"]


def landsat_mission(product_id: str) -> Mission | None:
    """The mission of a Landsat product id (``LC08_...``), or None for an unknown sensor code."""
    return LANDSAT.get(product_id[2:4]) if product_id[:1] == "L" else None


def modis_mission(file_id: str) -> Mission:
    """The MODIS platform of a composite named like ``MOD09Q1.A2021001...`` (Terra by default)."""
    return MODIS.get(file_id[:3].upper(), FIRST_MODIS)
