"""The coarse reference: reanalysis layers on one lon/lat grid for one year."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agrifactory.errors import ConfigError, DataError
from agrifactory.io.reanalysis import read_reanalysis
from agrifactory.soil_moisture.drivers import coarse_transform_of, year_days
from agrifactory.soil_moisture.lattice import CoarseGrid
from agrifactory.soil_moisture.rules import ReanalysisSettings

#: Default layers: variable names and depths (m) of the product layers (the defaults of
#: ``soil_moisture.reanalysis``: GLEAM's).
_DEFAULTS = ReanalysisSettings()
DEFAULT_LAYERS: dict[str, dict] = _DEFAULTS.layers()


@dataclass
class Reference:
    """Daily reanalysis of each layer as ``(T, n_cells)`` on one coarse grid."""

    grid: CoarseGrid
    values: dict[str, np.ndarray]
    year: int

    @property
    def layers(self) -> list[str]:
        return list(self.values)


def check_layers(layers: Mapping[str, Mapping]) -> dict[str, dict]:
    """Validate the layer config: ``{name: {variable: str, depth_m: [from, to]}}``."""
    if not layers:
        raise ConfigError("no soil-moisture layers configured")
    out = {}
    for name, spec in layers.items():
        if "variable" not in spec:
            raise ConfigError(f"soil-moisture layer {name!r} lacks 'variable' (e.g. SMs)")
        depth = spec.get("depth_m", DEFAULT_LAYERS.get(name, {}).get("depth_m"))
        if depth is None or len(depth) != 2 or not (0 <= depth[0] < depth[1]):
            raise ConfigError(f"soil-moisture layer {name!r}: depth_m must be [from, to] metres")
        out[name] = {"variable": str(spec["variable"]), "depth_m": [float(d) for d in depth]}
    return out


def load_reference(
    files: Mapping[str, str | Path | Sequence[str | Path]],
    year: int,
    *,
    layers: Mapping[str, Mapping] = DEFAULT_LAYERS,
    units: str = _DEFAULTS.units,
    bbox: Sequence[float] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Reference:
    """Read each layer's reanalysis file(s) for ``year`` inside ``bbox`` onto one grid.

    ``files`` maps a layer name to its file(s). Every day of the year must be
    present; the layers must share their grid. ``options`` are further keyword
    arguments of :func:`read_reanalysis` (``ReanalysisSettings.read_options()``:
    land mask, negative tolerance, daily mean; ``units`` there overrides ``units``).
    """
    layers = check_layers(layers)
    lacking = [k for k in layers if k not in files]
    if lacking:
        raise ConfigError(f"no reanalysis file configured for layer(s) {lacking}")
    values, grid, coords = {}, None, None
    days = np.array(year_days(year), dtype="datetime64[D]")
    for name, spec in layers.items():
        kwargs = {"units": units} | dict(options or {})
        da = read_reanalysis(files[name], spec["variable"], bbox=bbox, year=year, **kwargs)
        got = da["time"].values.astype("datetime64[D]")
        if got.size != days.size or (got != days).any():
            missing = np.setdiff1d(days, got)
            raise DataError(
                f"reanalysis {spec['variable']!r} lacks {missing.size} day(s) of {year} "
                f"(first {missing[:1]}); every day is needed"
            )
        here = (da["lat"].values, da["lon"].values)
        if coords is None:
            coords = here
            transform, shape = coarse_transform_of(*here)
            grid = CoarseGrid(transform, shape)
        elif not (np.allclose(coords[0], here[0]) and np.allclose(coords[1], here[1])):
            raise DataError("the reanalysis layers are on different grids; regrid one of them")
        values[name] = da.values.reshape(days.size, -1).astype(np.float32)
    return Reference(grid, values, year)
