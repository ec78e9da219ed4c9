"""CF-compliant, compressed NetCDF of daily 1 km soil moisture on an Albers tile grid.

Layout (CF-1.11)::

    dimensions: time (days), y (rows, north to south), x (columns)
    time(time)       days since 1970-01-01, calendar standard, standard_name time
    y(y), x(x)       projection_y/x_coordinate in metres (pixel centres), no _FillValue
    crs              grid mapping: albers_conical_equal_area with crs_wkt
    sm_<layer>(time, y, x)   volume_fraction_of_condensed_water_in_soil, units m3 m-3,
                     stored as int16 with scale_factor 1e-4 and _FillValue -32767,
                     zlib level 4 with shuffle, chunks of (days, rows, cols) <= (32, 256, 256)

Each layer variable carries its depth range (``depth_from_m``, ``depth_to_m``)
and ``grid_mapping = "crs"``. The file is written to a temporary name and
renamed when complete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from agrifactory import __version__
from agrifactory.errors import InputError
from agrifactory.grid import ALBERS, PixelGrid
from agrifactory.io.files import atomic_path

SCALE = 1e-4
FILL = np.int16(-32767)
UNITS = "m3 m-3"
STANDARD_NAME = "volume_fraction_of_condensed_water_in_soil"
# The newest CF version the IOOS compliance-checker knows (its default `--test=cf`).
CONVENTIONS = "CF-1.11"


def variable_name(layer: str) -> str:
    """NetCDF variable of a layer: ``sm_<layer>``."""
    return f"sm_{layer}"


def _crs_attrs() -> dict[str, Any]:
    attrs = {k: v for k, v in ALBERS.to_cf().items() if v is not None}
    attrs["spatial_ref"] = attrs["crs_wkt"]
    return attrs


def write_sm_netcdf(
    path: str | Path,
    layers: Mapping[str, np.ndarray],
    grid: PixelGrid,
    days: Sequence[dt.date],
    *,
    depths: Mapping[str, Sequence[float]],
    title: str,
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``{layer: (T, H, W)}`` daily soil moisture (m3/m3, NaN = missing) for one tile.

    Values are rounded to 1e-4 m3/m3. Values outside the int16 range cannot
    occur for soil moisture; they raise rather than wrap.
    """
    t = len(days)
    coords = {
        "time": (
            "time",
            np.array(days, dtype="datetime64[ns]"),
            # numpy datetimes count no leap seconds (CF-1.11 §4.4.3)
            {
                "standard_name": "time",
                "long_name": "time",
                "axis": "T",
                "units_metadata": "leap_seconds: none",
            },
        ),
        "y": (
            "y",
            grid.pixel_centres()[1],
            {"standard_name": "projection_y_coordinate", "units": "m", "axis": "Y"},
        ),
        "x": (
            "x",
            grid.pixel_centres()[0],
            {"standard_name": "projection_x_coordinate", "units": "m", "axis": "X"},
        ),
    }
    data_vars: dict[str, Any] = {"crs": ((), np.int32(0), _crs_attrs())}
    encoding: dict[str, Any] = {
        "time": {"units": "days since 1970-01-01", "calendar": "standard", "dtype": "int32"},
        # xarray gives float coordinates a NaN _FillValue by default; CF forbids one there.
        "y": {"_FillValue": None},
        "x": {"_FillValue": None},
    }
    chunks = (min(t, 32), min(grid.height, 256), min(grid.width, 256))
    for layer, arr in layers.items():
        arr = np.asarray(arr, dtype=np.float32)
        if arr.shape != (t,) + grid.shape:
            raise ValueError(f"layer {layer}: shape {arr.shape}, expected {(t,) + grid.shape}")
        finite = arr[np.isfinite(arr)]
        if finite.size and (finite.max() > 3.0 or finite.min() < -3.0):
            raise ValueError(f"layer {layer}: values {finite.min()}..{finite.max()} are not m3/m3")
        d0, d1 = depths[layer]
        name = variable_name(layer)
        data_vars[name] = (
            ("time", "y", "x"),
            arr,
            {
                "standard_name": STANDARD_NAME,
                "long_name": f"{layer} soil moisture, {d0:g}-{d1:g} m",
                "units": UNITS,
                "depth_from_m": float(d0),
                "depth_to_m": float(d1),
                "grid_mapping": "crs",
            },
        )
        encoding[name] = {
            "dtype": "int16",
            "scale_factor": SCALE,
            "add_offset": 0.0,
            "_FillValue": FILL,
            "zlib": True,
            "complevel": 4,
            "shuffle": True,
            "chunksizes": chunks,
        }
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs = {
        "Conventions": CONVENTIONS,
        "title": title,
        "institution": "agrifactory",
        "source": "agrifactory.soil_moisture",
        # No clock time: two runs of one config must write identical bytes (the run's
        # manifest); when and where a run went is in results/report/provenance.json.
        "history": f"written by agrifactory {__version__}",
        **{k: str(v) for k, v in (attrs or {}).items()},
    }
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", encoding=encoding)
    return Path(path)


def read_sm_netcdf(
    path: str | Path,
) -> tuple[dict[str, np.ndarray], PixelGrid, list[dt.date], dict]:
    """Read a file written by :func:`write_sm_netcdf`: layers, grid, days and attributes."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "soil-moisture file not found", "run the stage that writes it")
    try:
        ds = xr.open_dataset(path, engine="netcdf4")
    except Exception as exc:  # netCDF4/HDF5 raise several types for a corrupt file
        raise InputError(path, f"cannot be opened as NetCDF ({exc})", "regenerate it") from None
    with ds:
        names = [v for v in ds.data_vars if str(v).startswith("sm_")]
        if not names or "x" not in ds.coords or "y" not in ds.coords:
            raise InputError(path, "is not an agrifactory soil-moisture file", "regenerate it")
        x = ds["x"].values
        y = ds["y"].values
        res = float(x[1] - x[0]) if x.size > 1 else float(y[0] - y[1])
        grid = PixelGrid(float(x[0] - res / 2), float(y[0] + res / 2), res, x.size, y.size)
        layers = {str(v)[3:]: ds[v].values.astype(np.float32) for v in names}
        days = [dt.date.fromisoformat(str(t)[:10]) for t in ds["time"].values]
        depths = {
            str(v)[3:]: (float(ds[v].attrs["depth_from_m"]), float(ds[v].attrs["depth_to_m"]))
            for v in names
        }
        attrs = {**ds.attrs, "depths": depths}
    return layers, grid, days, attrs
