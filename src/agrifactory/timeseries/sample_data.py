"""Readers for the real example time series in ``../shared/data`` (tests, docs, benchmarks).

- ``hants_probav/``: PROBA-V S1 TOC NDVI GeoTIFFs, one per date (``..._YYYYMMDD_...tif``),
  already in NDVI units (the product's ``DN * 0.004 - 0.08``; -0.08 is DN 0) with
  nodata -3.4e38 (whole scenes of nodata on a third of the dates).
- ``eolearn_patch/``: Sentinel-2 NDVI ``(time, rows, cols, 1)`` with cloud mask
  ``CLM`` (1 = cloud) and data mask ``IS_DATA`` (1 = data), dates in JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
