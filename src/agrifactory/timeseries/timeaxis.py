"""Time axes in days: what HANTS, Savitzky-Golay and the features count in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np


def days_since(dates: Sequence[dt.date], origin: dt.date) -> np.ndarray:
    """Days from ``origin`` to each date, as float64 (``origin`` itself is 0).

    A ``datetime`` keeps its time of day as a fraction of a day.
    """
    o = dt.datetime(origin.year, origin.month, origin.day)
    out = []
    for d in dates:
        if not isinstance(d, dt.datetime):
            d = dt.datetime(d.year, d.month, d.day)
        out.append((d.replace(tzinfo=None) - o).total_seconds() / 86400.0)
    return np.asarray(out, dtype=np.float64)


def year_days(year: int) -> list[dt.date]:
    """Every date of a calendar year (365 or 366 dates)."""
    first = dt.date(year, 1, 1)
    n = (dt.date(year + 1, 1, 1) - first).days
    return [first + dt.timedelta(days=i) for i in range(n)]


def day_of_year(dates: Sequence[dt.date]) -> np.ndarray:
    """Day of year (1 = 1 January) of each date, as float64."""
    return np.asarray([d.timetuple().tm_yday for d in dates], dtype=np.float64)


def season_year(date: dt.date, start_month: int = 1) -> int:
    """The season (named by the year it ends in) that ``date`` falls in.

    A season starts on the 1st of ``start_month``: with 1 it is the calendar year;
    with 9, season 2014 runs from 1 September 2013 to 31 August 2014 (a southern
    summer crop season).
    """
    if not 1 <= start_month <= 12:
        raise ValueError(f"season start month must be 1..12, got {start_month}")
    return date.year + 1 if start_month > 1 and date.month >= start_month else date.year
