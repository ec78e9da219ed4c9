"""The workflow's ``soil_moisture`` config section: checked up front, turned into call arguments.

The Snakefile calls :func:`check_config` when it is parsed, so a missing file, a
reanalysis file without its variable or in the wrong units, or a tile outside
the soil-moisture region stops the run before any job. The rule scripts use
the other functions to turn the section (passed as ``params``) and the rule's
named inputs into the arguments of :mod:`agrifactory.soil_moisture.pipeline`.

In every path ``{year}`` stands for the year being produced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyproj import Transformer

from agrifactory.errors import ConfigError
from agrifactory.grid import ALBERS, Tile, parse_tile_id, tile_id
from agrifactory.io.reanalysis import check_reanalysis_header
from agrifactory.soil_moisture.drivers import DRIVERS

if TYPE_CHECKING:  # the workflow imports this module: keep PyTorch out of it
    from agrifactory.soil_moisture.cnn import TrainSettings

#: The product's layers, in the order of the config and the outputs.
LAYERS = ("surface", "rootzone")
#: Keys of the ``downscaling`` section that are LightGBM parameters.
LGBM_KEYS = (
    "learning_rate",
    "max_depth",
    "num_leaves",
    "min_data_in_leaf",
    "feature_fraction",
    "bagging_fraction",
    "lambda_l2",
)
#: Lattice of the demo world's region edges (degrees).
DEMO_LATTICE_DEG = 0.25


def for_year(path: str | Path, year: int) -> str:
    """``path`` with ``{year}`` replaced by ``year``."""
    return str(path).replace("{year}", str(int(year)))


def _paths(value: str | Sequence[str] | None, year: int) -> list[str]:
    if value is None:
        return []
    values = [value] if isinstance(value, str | Path) else list(value)
    return [for_year(v, year) for v in values]


def layers(cfg: Mapping[str, Any]) -> dict[str, dict]:
    """``{layer: {"variable": ..., "depth_m": [from, to]}}`` for the pipeline."""
    rea = cfg["reanalysis"]
    return {
        k: {"variable": rea["variables"][k], "depth_m": list(rea["depths_m"][k])} for k in LAYERS
    }


def station_depths(cfg: Mapping[str, Any]) -> dict[str, list[float]] | None:
    """Sensor depth ranges per layer, or ``None`` to use the layer depths."""
    depths = cfg["stations"].get("depths_m")
    return {k: list(v) for k, v in depths.items()} if depths else None


def lgbm_params(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The LightGBM parameters of the ``downscaling`` section."""
    return {k: cfg["downscaling"][k] for k in LGBM_KEYS}


def train_settings(section: Mapping[str, Any]) -> TrainSettings:
    """Optimiser settings of the ``pretrain`` or ``finetune`` section."""
    from agrifactory.soil_moisture.cnn import TrainSettings

    return TrainSettings(
        epochs=int(section["epochs"]),
        lr=float(section["learning_rate"]),
        batch_size=int(section["batch_size"]),
        weight_decay=float(section["weight_decay"]),
    )


def input_files(cfg: Mapping[str, Any], year: int, *, stations: bool = False) -> dict[str, Any]:
    """Named rule inputs of a year: ``reanalysis_<layer>`` (lists), ``driver_<name>``,
    and with ``stations`` also ``stations`` and (when configured) ``source_stations``."""
    out: dict[str, Any] = {
        f"reanalysis_{k}": _paths(cfg["reanalysis"]["files"][k], year) for k in LAYERS
    }
    out.update({f"driver_{d}": for_year(cfg["drivers"][d], year) for d in DRIVERS})
    if stations:
        out["stations"] = _paths(cfg["stations"]["target"], year)
        source = _paths(cfg["stations"]["source"], year)
        if source:
            out["source_stations"] = source
    return out


def reanalysis_inputs(named: Mapping[str, Any]) -> dict[str, list[str]]:
    """Reanalysis files per layer from a rule's named inputs (``reanalysis_<layer>``)."""
    return {k: [str(p) for p in named[f"reanalysis_{k}"]] for k in LAYERS}


def driver_inputs(named: Mapping[str, Any]) -> dict[str, str]:
    """Driver files per name from a rule's named inputs (``driver_<name>``)."""
    return {d: str(named[f"driver_{d}"]) for d in DRIVERS}


def station_inputs(named: Mapping[str, Any], key: str) -> list[str] | None:
    """Station files or folders under ``key`` of a rule's named inputs (``None`` if absent)."""
    return [str(p) for p in named[key]] if key in named.keys() else None


def neighbours(tile: str, run_tiles: Sequence[str]) -> list[str]:
    """The run's tiles among the 8 around ``tile`` (their soil moisture fills the CNN's halo)."""
    col, row = parse_tile_id(tile)
    present = set(run_tiles)
    around = [
        tile_id(col + dc, row + dr)
        for dr in (-1, 0, 1)
        for dc in (-1, 0, 1)
        if (dc or dr) and col + dc >= 0 and row + dr >= 0
    ]
    return [t for t in around if t in present]


def _check_bbox(bbox: Sequence[float] | None, demo: bool) -> tuple[float, ...]:
    if bbox is None:
        raise ConfigError(
            "soil_moisture.region_bbox is not set; give the soil-moisture region as "
            "[lon_min, lat_min, lon_max, lat_max] in degrees"
        )
    lon0, lat0, lon1, lat1 = (float(b) for b in bbox)
    if not (-180 <= lon0 < lon1 <= 180 and -90 <= lat0 < lat1 <= 90):
        raise ConfigError(
            f"soil_moisture.region_bbox {list(bbox)} is not [lon_min, lat_min, lon_max, lat_max] "
            "in degrees"
        )
    if demo:
        off = [b for b in bbox if abs(b / DEMO_LATTICE_DEG - round(b / DEMO_LATTICE_DEG)) > 1e-9]
        if off:
            raise ConfigError(
                f"soil_moisture.region_bbox {list(bbox)}: the demo world's edges must lie on the "
                f"{DEMO_LATTICE_DEG} degree lattice (found {off})"
            )
    return lon0, lat0, lon1, lat1


def _check_tiles(bbox: Sequence[float], tiles: Sequence[Tile]) -> None:
    to_lonlat = Transformer.from_crs(ALBERS, "EPSG:4326", always_xy=True)
    lon0, lat0, lon1, lat1 = bbox
    outside = []
    for t in tiles:
        w, s, e, n = to_lonlat.transform_bounds(*t.bounds, densify_pts=11)
        if w >= lon1 or e <= lon0 or s >= lat1 or n <= lat0:
            outside.append(t.id)
    if outside:
        raise ConfigError(
            f"{len(outside)} tile(s) lie outside soil_moisture.region_bbox {list(bbox)} "
            f"(first: {', '.join(outside[:5])}); widen the region or set soil_moisture.enabled "
            "to false"
        )


def _required(cfg: Mapping[str, Any]) -> None:
    unset = [f"reanalysis.files.{k}" for k in LAYERS if not cfg["reanalysis"]["files"][k]]
    unset += [f"drivers.{d}" for d in DRIVERS if not cfg["drivers"][d]]
    unset += ["stations.target"] if not cfg["stations"]["target"] else []
    if unset:
        raise ConfigError(
            f"soil_moisture is enabled but soil_moisture.{', soil_moisture.'.join(unset)} "
            "is not set; see config/china.yaml for an example"
        )


def _check_depths(cfg: Mapping[str, Any]) -> None:
    named = {f"reanalysis.depths_m.{k}": v for k, v in cfg["reanalysis"]["depths_m"].items()}
    named.update({f"stations.depths_m.{k}": v for k, v in (station_depths(cfg) or {}).items()})
    for key, (d0, d1) in named.items():
        if not d0 < d1:
            raise ConfigError(f"soil_moisture.{key} = [{d0}, {d1}]: 'from' must be less than 'to'")
    if cfg["stations"].get("depths_m") and set(cfg["stations"]["depths_m"]) != set(LAYERS):
        raise ConfigError(f"soil_moisture.stations.depths_m needs both layers {list(LAYERS)}")


def check_config(
    cfg: Mapping[str, Any],
    tiles: Sequence[Tile],
    years: Sequence[int],
    *,
    demo: bool,
    demo_dir: str | Path,
) -> None:
    """Check the (schema-validated, enabled) ``soil_moisture`` section before any job runs.

    Every input of every year must exist, except, in demo mode, files under
    ``demo_dir`` (the demo writes them). Reanalysis files that exist are opened
    and checked for their variable and units (:func:`check_reanalysis_header`).
    """
    _required(cfg)
    bbox = _check_bbox(cfg["region_bbox"], demo)
    _check_tiles(bbox, tiles)
    _check_depths(cfg)
    demo_root = Path(demo_dir).resolve()
    units = cfg["reanalysis"]["units"]
    for year in years:
        files = input_files(cfg, year, stations=True)
        for key, value in files.items():
            for path in [value] if isinstance(value, str) else value:
                p = Path(path)
                if not p.exists():
                    if demo and p.resolve().is_relative_to(demo_root):
                        continue
                    raise ConfigError(
                        f"soil_moisture ({key}): {p} does not exist; fix the path in the config"
                    )
                if key.startswith("reanalysis_"):
                    layer = key.removeprefix("reanalysis_")
                    check_reanalysis_header(p, cfg["reanalysis"]["variables"][layer], units=units)
