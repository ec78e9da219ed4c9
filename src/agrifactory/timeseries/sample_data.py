"""Readers for the real example time series in ``../shared/data`` (tests, docs, benchmarks).

- ``hants_probav/``: PROBA-V S1 TOC NDVI GeoTIFFs, one per date (``..._YYYYMMDD_...tif``),
  already in NDVI units (the product's ``DN * 0.004 - 0.08``; -0.08 is DN 0) with
  nodata -3.4e38 (whole scenes of nodata on a third of the dates).
- ``eolearn_patch/``: Sentinel-2 NDVI ``(time, rows, cols, 1)`` with cloud mask
  ``CLM`` (1 = cloud) and data mask ``IS_DATA`` (1 = data), dates in JSON.
- ``phenofit_mod13a1/``: MOD13A1 16-day records at 10 flux sites (one CSV row per site
  and composite, as exported from Google Earth Engine) and the site table.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from agrifactory.errors import InputError
from agrifactory.io.raster import read_raster

_DATE_IN_NAME = re.compile(r"_(\d{8})_")


@dataclass
class NdviSeries:
    """An NDVI stack ``(T, rows, cols)`` (NaN = nodata), its dates and a cloud mask."""

    ndvi: np.ndarray
    dates: list[dt.datetime]
    cloud: np.ndarray | None = None


def read_probav_folder(folder: str | Path) -> NdviSeries:
    """Read every ``*.tif`` of a folder of dated PROBA-V NDVI scenes, sorted by date."""
    folder = Path(folder)
    paths = sorted(folder.glob("*.tif"))
    if not paths:
        raise InputError(folder, "no .tif files found", "point to the hants_probav folder")
    dated = []
    for p in paths:
        found = _DATE_IN_NAME.search(p.name)
        if not found:
            raise InputError(p, "no date YYYYMMDD between underscores in the file name")
        dated.append((dt.datetime.strptime(found.group(1), "%Y%m%d"), p))
    dated.sort()
    bands = []
    for _, p in dated:
        data, _meta = read_raster(p)
        bands.append(data[0])
    ndvi = np.stack(bands)
    # The nodata value -3.4e38 is read as NaN; nothing else is altered.
    return NdviSeries(ndvi=ndvi, dates=[d for d, _ in dated])


def read_eolearn_patch(folder: str | Path) -> NdviSeries:
    """Read the eo-learn example patch: NDVI, cloud mask (CLM or not IS_DATA) and dates."""
    folder = Path(folder)
    try:
        ndvi = np.load(folder / "data" / "NDVI.npy")[..., 0]
        clm = np.load(folder / "mask" / "CLM.npy")[..., 0].astype(bool)
        is_data = np.load(folder / "mask" / "IS_DATA.npy")[..., 0].astype(bool)
        stamps = json.loads((folder / "timestamps.json").read_text())
    except FileNotFoundError as exc:
        raise InputError(exc.filename, "missing from the eo-learn patch") from None
    dates = [dt.datetime.fromisoformat(s) for s in stamps]
    if len(dates) != ndvi.shape[0]:
        raise InputError(folder, f"{len(dates)} timestamps for {ndvi.shape[0]} NDVI dates")
    return NdviSeries(ndvi=ndvi.astype(np.float32), dates=dates, cloud=clm | ~is_data)


#: Columns of :func:`read_phenofit_sites` records (MOD13A1 layers renamed).
PHENOFIT_COLUMNS = ("site", "date", "obs", "ndvi_dn", "evi_dn", "summary_qa", "detailed_qa")


def read_phenofit_sites(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the phenofit MOD13A1 site records and the site table.

    Returns ``(records, sites)``. ``records`` has :data:`PHENOFIT_COLUMNS`, one row per
    site and composite sorted by site and date: ``date`` the composite start, ``obs``
    the day the pixel was observed (the ``DayOfYear`` layer, counted on from ``date``;
    the year's last composite reaches into January), NDVI and EVI DNs (x 1e-4, NaN
    where the composite is missing from the export), ``summary_qa`` as int8 with -1
    (fill) for missing composites, ``detailed_qa`` as nullable Int64.
    """
    folder = Path(folder)
    path = folder / "MOD13A1_sites.csv"
    try:
        raw = pd.read_csv(path)
        sites = pd.read_csv(folder / "sites.csv")
    except FileNotFoundError as exc:
        raise InputError(exc.filename, "missing from the phenofit folder") from None
    need = {"site", "date", "DayOfYear", "NDVI", "EVI", "SummaryQA", "DetailedQA"}
    if not need <= set(raw.columns):
        raise InputError(path, f"lacks columns {sorted(need - set(raw.columns))}")
    date = pd.to_datetime(raw["date"])
    year_len = np.where(date.dt.is_leap_year, 366, 365)
    offset = ((raw["DayOfYear"] - date.dt.day_of_year) % year_len).fillna(0)
    records = pd.DataFrame(
        {
            "site": raw["site"],
            "date": date,
            "obs": date + pd.to_timedelta(offset, unit="D"),
            "ndvi_dn": raw["NDVI"].astype(np.float64),
            "evi_dn": raw["EVI"].astype(np.float64),
            "summary_qa": raw["SummaryQA"].fillna(-1).astype(np.int8),
            "detailed_qa": raw["DetailedQA"].astype("Int64"),
        }
    )
    return records.sort_values(["site", "date"], ignore_index=True), sites
