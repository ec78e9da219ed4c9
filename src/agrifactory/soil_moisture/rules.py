"""The soil-moisture stage's contract: its settings, its output names, one function per rule.

* :class:`SoilMoistureSettings` is the config section ``soil_moisture``: every key's
  type, range, default and description, written once here. The Snakefile builds it
  when the workflow is parsed, so a bad value or an enabled stage without its inputs
  stops ``snakemake -n`` before any job; :func:`check_inputs` then checks the files.
* ``*_OUTPUTS`` name the files the rules write; :func:`outputs` puts them in a folder.
* :func:`train`, :func:`downscale`, :func:`bias_train`, :func:`calibrate`,
  :func:`plots`, :func:`report` and :func:`demo_world` run the rules ``sm_train``,
  ``sm_downscale``, ``sm_bias_train``, ``sm_calibrate``, ``sm_plots``, ``sm_report``
  and ``demo_soil_moisture`` from the Snakemake job (``scripts/sm_*.py``). Each rule's
  params are plain config dicts (``*_params``), so a changed setting reruns exactly
  the rules that read it.

In every path ``{year}`` stands for the year being produced. This module imports no
deep-learning or boosting library: the workflow imports it when parsed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from agrifactory.errors import ConfigError
from agrifactory.grid import ALBERS, Tile, parse_tile_id, tile_id
from agrifactory.io.files import for_year
from agrifactory.io.reanalysis import GLEAM_VARIABLES, check_reanalysis_header
from agrifactory.io.stations import DEFAULT_KEEP_FLAGS, DEFAULT_LAYER_DEPTHS
from agrifactory.logs import setup_logging
from agrifactory.settings import Settings
from agrifactory.soil_moisture.drivers import DRIVERS

log = logging.getLogger(__name__)

#: The product's layers, in the order of the config and the outputs.
LAYERS = ("surface", "rootzone")
#: Lattice of the demo world's region edges (degrees).
DEMO_LATTICE_DEG = 0.25

#: Files of a tile-year, under ``tiles/{tile}/{year}/soil_moisture/``.
TILE_OUTPUTS = {"downscaled": "downscaled.nc", "calibrated": "calibrated.nc"}
#: Models of a year, under ``models/soil_moisture/{year}/``.
MODEL_OUTPUTS = {"downscaler": "downscaler.json", "cnn": "bias_cnn.pt"}
#: Run-level tables and plots of a year, under ``soil_moisture/{year}/``.
YEAR_OUTPUTS = {
    "evaluation": "evaluation.csv",
    "series": "station_series.csv",
    "plot": "station_series.png",
}


# --------------------------------------------------------------------------- settings


def _depth_in_order(value: list[float]) -> list[float]:
    if not value[0] < value[1]:
        raise ValueError(f"{value}: 'from' must be less than 'to'")
    return value


#: A depth range [from, to] in metres.
Depth = Annotated[
    list[Annotated[float, Field(ge=0)]],
    Field(min_length=2, max_length=2),
    AfterValidator(_depth_in_order),
]
#: A path, a list of paths, or none.
Paths = str | list[str] | None


class ReanalysisFiles(Settings):
    """NetCDF file(s) of each layer (a path or a list of paths, concatenated along time)."""

    surface: Paths = None
    """Surface-layer file(s), e.g. data/gleam/SMs_{year}_GLEAM_v3.8a.nc."""

    rootzone: Paths = None
    """Root-zone file(s), e.g. data/gleam/SMrz_{year}_GLEAM_v3.8a.nc."""


class ReanalysisVariables(Settings):
    """Variable name of each layer in the files."""

    surface: str = GLEAM_VARIABLES["surface"]
    """Surface soil moisture variable (GLEAM v3 - SMs)."""

    rootzone: str = GLEAM_VARIABLES["rootzone"]
    """Root-zone soil moisture variable (GLEAM v3 - SMrz)."""


class LayerDepths(Settings):
    """Depth range of each layer in metres [from, to]; written to the products."""

    surface: Depth = list(DEFAULT_LAYER_DEPTHS["surface"])
    """Surface layer depths (GLEAM - 0-10 cm)."""

    rootzone: Depth = list(DEFAULT_LAYER_DEPTHS["rootzone"])
    """Root-zone layer depths (GLEAM - 10-100 cm)."""


#: Keys of :class:`ReanalysisSettings` that say how the files are read (not which).
READ_KEYS = ("units", "land_mask", "land_fraction_min", "negative_tolerance", "daily_mean")


class ReanalysisSettings(Settings):
    """Daily coarse soil moisture on a regular lon/lat grid, one NetCDF variable per layer
    (docs/data-formats.md, section "Soil moisture")."""

    files: ReanalysisFiles = ReanalysisFiles()
    """NetCDF file(s) of each layer (a path or a list of paths, concatenated along time)."""

    variables: ReanalysisVariables = ReanalysisVariables()
    """Variable name of each layer in the files."""

    units: Literal["m3/m3", "percent"] = "m3/m3"
    """Units of the files. 'm3/m3' refuses a file whose units attribute says percent or
    whose values exceed 1; 'percent' converts explicitly (divides by 100, logged) and
    refuses a file that says m3/m3."""

    depths_m: LayerDepths = LayerDepths()
    """Depth range of each layer in metres [from, to]; written to the products."""

    land_mask: str | None = None
    """Variable of a land-fraction mask (0-1) in the same files, e.g. ERA5 'lsm'; cells
    whose fraction is below land_fraction_min are set to missing. Null - no mask."""

    land_fraction_min: Annotated[float, Field(gt=0, le=1)] = 0.5
    """Least land fraction of a cell kept when land_mask is set (ERA5's convention: 0.5)."""

    negative_tolerance: Annotated[float, Field(ge=0, le=0.05)] = 0.0
    """Negative values down to minus this (m3/m3) are set to 0 and counted in the log
    (ERA5's GRIB packing leaves values down to about -0.015 near zero); more negative
    values are an error. 0 refuses any negative value."""

    daily_mean: bool = False
    """Average the time steps of each UTC day (sub-daily reanalyses such as ERA5: set
    true); false - each time step is one day."""

    def read_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`~agrifactory.io.reanalysis.read_reanalysis`."""
        return self.model_dump(include=set(READ_KEYS))

    def layers(self) -> dict[str, dict]:
        """``{layer: {"variable": ..., "depth_m": [from, to]}}`` for the pipeline."""
        return {
            k: {"variable": getattr(self.variables, k), "depth_m": list(getattr(self.depths_m, k))}
            for k in LAYERS
        }


class DriverFiles(Settings):
    """1 km driver GeoTIFFs, one per variable (and year for the dynamic ones). Dynamic
    drivers name their bands by date (YYYY-MM-DD); 8-day composites (dated by their first
    day) are gap-filled to daily by linear interpolation between the nearest valid
    composites. For training they must be on lon/lat grids; any CRS for prediction."""

    ndvi: str | None = None
    """NDVI, daily or 8-day (e.g. MOD13A2), e.g. data/drivers/ndvi_{year}.tif."""

    lst_day: str | None = None
    """Daytime land surface temperature in K, daily or 8-day (MOD11A2)."""

    lst_night: str | None = None
    """Night-time land surface temperature in K, daily or 8-day (MOD11A2)."""

    albedo: str | None = None
    """Albedo, daily or 8-day (MCD43)."""

    precip: str | None = None
    """Precipitation in mm/day, daily without gaps (e.g. CHIRPS, GPM IMERG)."""

    dem: str | None = None
    """Elevation in m (one band; slope is derived from it)."""

    sand: str | None = None
    """Sand fraction (one band, e.g. SoilGrids, as a fraction)."""

    clay: str | None = None
    """Clay fraction (one band, as a fraction)."""


class StationDepths(Settings):
    """Sensor depth ranges [from, to) in metres that map a sensor to a layer by the
    midpoint of its depth interval."""

    surface: Depth
    """Depth range of surface sensors."""

    rootzone: Depth
    """Depth range of root-zone sensors."""


class StationSettings(Settings):
    """In-situ stations (ISMN .stm files in either format, an ISMN folder, or the station
    CSV of docs/data-formats.md, section "Soil moisture")."""

    target: Paths = None
    """Target stations (file, folder or list); the CNN is fine-tuned on them and
    cross-validated over them."""

    source: Paths = None
    """Optional dense source network for pretraining (none of its stations may be a
    target station)."""

    keep_flags: Annotated[list[str], Field(min_length=1)] = list(DEFAULT_KEEP_FLAGS)
    """ISMN quality flags kept; readings with any other flag are masked (counted per flag
    in the log)."""

    depths_m: StationDepths | None = None
    """Sensor depth ranges [from, to) in metres that map a sensor to a layer by the
    midpoint of its depth interval; null takes the layer depths (reanalysis.depths_m)."""

    min_readings: Annotated[int, Field(ge=1)] = 1
    """Fewest kept readings of a station, layer and UTC day for a daily value."""

    def layer_depths(self) -> dict[str, list[float]] | None:
        """Sensor depth ranges per layer, or ``None`` to use the layer depths."""
        if self.depths_m is None:
            return None
        return {k: list(getattr(self.depths_m, k)) for k in LAYERS}


#: Keys of :class:`DownscalingSettings` that are LightGBM parameters.
LGBM_KEYS = (
    "learning_rate",
    "max_depth",
    "num_leaves",
    "min_data_in_leaf",
    "feature_fraction",
    "bagging_fraction",
    "lambda_l2",
)


class DownscalingSettings(Settings):
    """The LightGBM downscaler (one model per layer on reanalysis cells x days; seed from
    the top-level seed)."""

    rounds: Annotated[int, Field(ge=1)] = 100
    """Boosting rounds."""

    learning_rate: Annotated[float, Field(gt=0)] = 0.15
    """LightGBM learning rate."""

    max_depth: Annotated[int, Field(ge=1, le=12)] = 5
    """Tree depth (depth-limited trees keep 1 km prediction cheap)."""

    num_leaves: Annotated[int, Field(ge=2)] = 31
    """Most leaves per tree."""

    min_data_in_leaf: Annotated[int, Field(ge=1)] = 40
    """Fewest (cell, day) rows per leaf."""

    feature_fraction: Annotated[float, Field(gt=0, le=1)] = 0.9
    """Share of features tried per tree."""

    bagging_fraction: Annotated[float, Field(gt=0, le=1)] = 0.8
    """Share of rows drawn per tree."""

    lambda_l2: Annotated[float, Field(ge=0)] = 1.0
    """L2 regularisation."""

    min_coverage: Annotated[float, Field(gt=0, le=1)] = 0.5
    """Least share of a reanalysis cell covered by valid driver pixels for the cell to be used."""

    residual_correction: bool = True
    """Shift the 1 km values of each reanalysis cell and day so their mean equals the
    reanalysis value exactly."""

    engine: Literal["compiled", "lightgbm"] = "compiled"
    """1 km prediction: 'compiled' (Numba, same values, faster) or LightGBM's own
    Booster.predict."""

    def lgbm_params(self) -> dict[str, Any]:
        """The LightGBM parameters of the section."""
        return {k: getattr(self, k) for k in LGBM_KEYS}


class TrainPhase(Settings):
    """Optimiser settings of one training phase (Adam)."""

    epochs: Annotated[int, Field(ge=1)] = 10
    """Epochs."""

    learning_rate: Annotated[float, Field(gt=0)] = 0.001
    """Learning rate."""

    weight_decay: Annotated[float, Field(ge=0)] = 0.0001
    """Weight decay."""


class PretrainSettings(TrainPhase):
    """Optimiser settings of pretraining (Adam)."""

    batch_size: Annotated[int, Field(ge=1)] = 256
    """Mini-batch size."""


class FinetuneSettings(TrainPhase):
    """Optimiser settings of fine-tuning, and of the target-only CNN it is compared with (Adam)."""

    batch_size: Annotated[int, Field(ge=1)] = 128
    """Mini-batch size."""


class BiasCorrectionSettings(Settings):
    """The CNN that predicts station minus downscaled soil moisture from 1 km patches
    (docs/soil-moisture.md)."""

    pretrain_on: Literal["source", "reanalysis", "none"] | None = None
    """Where the CNN is pretrained before fine-tuning on the target stations with its
    feature layers frozen: 'source' (the source stations), 'reanalysis' (the coarse
    cells, out-of-fold), 'none' (target stations only); null - 'source' when source
    stations are given, else 'none'."""

    members: Annotated[int, Field(ge=1)] = 5
    """Networks trained from different initialisations (seeds seed, seed + 1000, ...);
    every product is their mean. One network alone depends strongly on its
    initialisation (docs/soil-moisture.md); the target-only comparison uses as many."""

    width: Annotated[int, Field(ge=2)] = 16
    """Channels of the feature layers."""

    folds: Annotated[int, Field(ge=2)] = 5
    """Leave-stations-out cross-validation folds (grouped by station)."""

    oof_folds: Annotated[int, Field(ge=2)] = 4
    """Cell groups of the out-of-fold predictions for pretraining on the reanalysis."""

    pretrain: PretrainSettings = PretrainSettings()
    """Optimiser settings of pretraining (Adam)."""

    finetune: FinetuneSettings = FinetuneSettings()
    """Optimiser settings of fine-tuning, and of the target-only CNN it is compared with (Adam)."""

    batch_days: Annotated[int, Field(ge=1)] = 16
    """Days per batch when the CNN is applied over a tile."""


class PlotSettings(Settings):
    """Time-series plots of observed, downscaled and calibrated (held-out) soil moisture at
    a few stations."""

    stations: list[str] | None = None
    """Station ids (network:station) to plot; null - the first n_stations in id order."""

    n_stations: Annotated[int, Field(ge=1)] = 4
    """Stations plotted when 'stations' is null."""


class SoilMoistureDemoSettings(Settings):
    """The demo's soil-moisture world (demo mode only)."""

    n_stations: Annotated[int, Field(ge=2)] = 40
    """Target stations (ISMN files)."""

    n_source_stations: Annotated[int, Field(ge=1)] = 100
    """Stations of the dense source network (CSV)."""


def _bbox_in_degrees(value: list[float] | None) -> list[float] | None:
    if value is not None:
        lon0, lat0, lon1, lat1 = value
        if not (-180 <= lon0 < lon1 <= 180 and -90 <= lat0 < lat1 <= 90):
            raise ValueError(f"{value} is not [lon_min, lat_min, lon_max, lat_max] in degrees")
    return value


class SoilMoistureSettings(Settings):
    """Surface and root-zone soil moisture, daily at 1 km per tile and year: LightGBM
    downscaling of a 0.25 degree reanalysis, then a CNN bias correction against
    stations (docs/soil-moisture.md). In every path '{year}' stands for the year
    being produced. In demo mode the paths point at the demo's generated files."""

    enabled: bool = False
    """Produce soil moisture (rules sm_train, sm_downscale, sm_bias_train, sm_calibrate,
    sm_plots). Needs every input below."""

    years: list[int] | None = None
    """The run years to produce soil moisture for; null - every run year. Each must be
    one of the run's years. The demo's soil-moisture world covers one year: in demo
    mode give at most one."""

    region_bbox: Annotated[
        Annotated[list[float], Field(min_length=4, max_length=4)] | None,
        AfterValidator(_bbox_in_degrees),
    ] = None
    """The soil-moisture region [lon_min, lat_min, lon_max, lat_max] in degrees (WGS84).
    The downscaler and the CNN are trained on the reanalysis cells and stations inside
    it (one model per region and year, not per tile); every tile must overlap it.
    In demo mode it is also the extent of the generated world (edges on the 0.25
    degree lattice)."""

    reanalysis: ReanalysisSettings = ReanalysisSettings()
    """Daily coarse soil moisture on a regular lon/lat grid, one NetCDF variable per layer
    (docs/data-formats.md, section "Soil moisture")."""

    drivers: DriverFiles = DriverFiles()
    """1 km driver GeoTIFFs, one per variable (and year for the dynamic ones). Dynamic
    drivers name their bands by date (YYYY-MM-DD); 8-day composites (dated by their first
    day) are gap-filled to daily by linear interpolation between the nearest valid
    composites. For training they must be on lon/lat grids; any CRS for prediction."""

    stations: StationSettings = StationSettings()
    """In-situ stations (ISMN .stm files in either format, an ISMN folder, or the station
    CSV of docs/data-formats.md, section "Soil moisture")."""

    downscaling: DownscalingSettings = DownscalingSettings()
    """The LightGBM downscaler (one model per layer on reanalysis cells x days; seed from
    the top-level seed)."""

    bias_correction: BiasCorrectionSettings = BiasCorrectionSettings()
    """The CNN that predicts station minus downscaled soil moisture from 1 km patches
    (docs/soil-moisture.md)."""

    plots: PlotSettings = PlotSettings()
    """Time-series plots of observed, downscaled and calibrated (held-out) soil moisture at
    a few stations."""

    demo: SoilMoistureDemoSettings = SoilMoistureDemoSettings()
    """The demo's soil-moisture world (demo mode only)."""

    @model_validator(mode="after")
    def _inputs_when_enabled(self) -> SoilMoistureSettings:
        if not self.enabled:
            return self
        unset = ["region_bbox"] if self.region_bbox is None else []
        unset += [f"reanalysis.files.{k}" for k in LAYERS if not getattr(self.reanalysis.files, k)]
        unset += [f"drivers.{d}" for d in DRIVERS if not getattr(self.drivers, d)]
        unset += ["stations.target"] if not self.stations.target else []
        if unset:
            keys = "soil_moisture." + ", soil_moisture.".join(unset)
            verb = "is" if len(unset) == 1 else "are"
            raise ValueError(
                f"soil_moisture.enabled is true but {keys} {verb} not set; set them (see "
                "config/china.yaml for an example) or set soil_moisture.enabled to false"
            )
        return self

    @model_validator(mode="after")
    def _source_for_pretraining(self) -> SoilMoistureSettings:
        if self.bias_correction.pretrain_on == "source" and not self.stations.source:
            raise ValueError(
                "soil_moisture.bias_correction.pretrain_on is 'source' but "
                "soil_moisture.stations.source is not set; give a dense source network or "
                "pretrain on 'reanalysis' or 'none'"
            )
        return self

    def input_files(self, year: int, *, stations: bool = False) -> dict[str, Any]:
        """Named rule inputs of a year: ``reanalysis_<layer>`` (lists), ``driver_<name>``,
        and with ``stations`` also ``stations`` and (when configured) ``source_stations``."""
        out: dict[str, Any] = {
            f"reanalysis_{k}": _paths(getattr(self.reanalysis.files, k), year) for k in LAYERS
        }
        out.update({f"driver_{d}": for_year(getattr(self.drivers, d), year) for d in DRIVERS})
        if stations:
            out["stations"] = _paths(self.stations.target, year)
            source = _paths(self.stations.source, year)
            if source:
                out["source_stations"] = source
        return out


# --------------------------------------------------------------------------- planning


def _paths(value: str | Sequence[str] | None, year: int) -> list[str]:
    if value is None:
        return []
    values = [value] if isinstance(value, str | Path) else list(value)
    return [for_year(v, year) for v in values]


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


def _check_demo_lattice(bbox: Sequence[float]) -> None:
    off = [b for b in bbox if abs(b / DEMO_LATTICE_DEG - round(b / DEMO_LATTICE_DEG)) > 1e-9]
    if off:
        raise ConfigError(
            f"soil_moisture.region_bbox {list(bbox)}: the demo world's edges must lie on the "
            f"{DEMO_LATTICE_DEG} degree lattice (found {off})"
        )


def _check_demo_folds(settings: SoilMoistureSettings) -> None:
    folds, n_stations = settings.bias_correction.folds, settings.demo.n_stations
    if folds > n_stations:
        raise ConfigError(
            f"soil_moisture.bias_correction.folds ({folds}) exceeds soil_moisture.demo.n_stations "
            f"({n_stations}): every cross-validation fold needs a station; lower the folds or "
            "raise the stations"
        )


def _check_tiles(bbox: Sequence[float], tiles: Sequence[Tile]) -> None:
    from pyproj import Transformer

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


def run_years(settings: SoilMoistureSettings, years: Sequence[int]) -> list[int]:
    """The run years that produce soil moisture (soil_moisture.years, else all)."""
    return [int(y) for y in years] if settings.years is None else list(settings.years)


def _check_years(chosen: list[int] | None, years: Sequence[int], *, demo: bool) -> None:
    """soil_moisture.years must name run years (and one in demo mode)."""
    picked = [int(y) for y in years] if chosen is None else chosen
    other = sorted(set(picked) - {int(y) for y in years})
    if other:
        raise ConfigError(
            f"soil_moisture.years {other} are not run years {sorted(years)}; "
            "name years of the top-level 'years'"
        )
    if demo and len(picked) > 1:
        raise ConfigError(
            f"soil_moisture.years: the demo's soil-moisture world covers one year, got "
            f"{picked}; set soil_moisture.years to one of them, e.g. [{picked[0]}]"
        )


def check_inputs(
    settings: SoilMoistureSettings,
    tiles: Sequence[Tile],
    years: Sequence[int],
    *,
    demo: bool,
    demo_dir: str | Path,
) -> None:
    """Check an enabled section against the run before any job: tiles, files, headers.

    Every tile must overlap the region (whose edges, in demo mode, lie on the
    demo's lattice, and whose demo stations are at least as many as the folds). Every input of every year must exist, except, in demo mode,
    files under ``demo_dir`` (the demo writes them). Reanalysis files that exist are
    opened and checked for their variable and units (:func:`check_reanalysis_header`).
    """
    bbox = settings.region_bbox
    _check_years(settings.years, years, demo=demo)
    if demo:
        _check_demo_lattice(bbox)
        _check_demo_folds(settings)
    _check_tiles(bbox, tiles)
    demo_root = Path(demo_dir).resolve()
    rea = settings.reanalysis
    for year in run_years(settings, years):
        for key, value in settings.input_files(year, stations=True).items():
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
                    variable = getattr(rea.variables, layer)
                    check_reanalysis_header(p, variable, units=rea.units, land_mask=rea.land_mask)


# --------------------------------------------------------------------------- rule params


def train_params(settings: SoilMoistureSettings, seed: int) -> dict[str, Any]:
    """Params of rule ``sm_train``: what the downscaler depends on (files are inputs)."""
    return {
        "region": settings.region_bbox,
        "reanalysis": settings.reanalysis.model_dump(exclude={"files"}),
        "downscaling": settings.downscaling.model_dump(exclude={"residual_correction", "engine"}),
        "seed": seed,
    }


def downscale_params(settings: SoilMoistureSettings, tile_km: int) -> dict[str, Any]:
    """Params of rule ``sm_downscale`` (layers and depths come from the model file; how the
    reanalysis is read from the config)."""
    return {
        "tile_km": tile_km,
        "region": settings.region_bbox,
        "reanalysis": settings.reanalysis.read_options(),
        "downscaling": settings.downscaling.model_dump(include={"residual_correction", "engine"}),
    }


def bias_train_params(settings: SoilMoistureSettings, seed: int) -> dict[str, Any]:
    """Params of rule ``sm_bias_train``: stations, CNN and its inputs' settings."""
    return {
        "region": settings.region_bbox,
        "reanalysis": settings.reanalysis.read_options(),
        "downscaling": settings.downscaling.model_dump(include={"engine", "min_coverage"}),
        "stations": settings.stations.model_dump(exclude={"target"}),
        "bias_correction": settings.bias_correction.model_dump(exclude={"batch_days"}),
        "seed": seed,
    }


def _settings(params: Any) -> SoilMoistureSettings:
    """The section rebuilt from a rule's params (keys it does not carry keep their defaults)."""
    keys = ("reanalysis", "downscaling", "stations", "bias_correction", "plots")
    values = {k: params[k] for k in keys if k in params.keys()}
    if "region" in params.keys():
        values["region_bbox"] = params["region"]
    return SoilMoistureSettings.build(values, "soil_moisture")


# --------------------------------------------------------------------------- rule inputs


def reanalysis_inputs(named: Mapping[str, Any]) -> dict[str, list[str]]:
    """Reanalysis files per layer from a rule's named inputs (``reanalysis_<layer>``)."""
    return {k: [str(p) for p in named[f"reanalysis_{k}"]] for k in LAYERS}


def driver_inputs(named: Mapping[str, Any]) -> dict[str, str]:
    """Driver files per name from a rule's named inputs (``driver_<name>``)."""
    return {d: str(named[f"driver_{d}"]) for d in DRIVERS}


def station_inputs(named: Mapping[str, Any], key: str) -> list[str] | None:
    """Station files or folders under ``key`` of a rule's named inputs (``None`` if absent)."""
    return [str(p) for p in named[key]] if key in named.keys() else None


# --------------------------------------------------------------------------- rules


def demo_world(job: Any) -> None:
    """Rule ``demo_soil_moisture``: the demo's reanalysis, 1 km drivers, stations and truth."""
    from agrifactory.synthetic.soil_moisture import write_soil_moisture_world

    setup_logging(job.log[0])
    w = job.params.world
    write_soil_moisture_world(
        Path(job.output.stations).parent,  # the world's folder holds ismn/, drivers/, ...
        Path(job.output.truth).parent,
        bbox=w["bbox"],
        year=w["year"],
        n_stations=w["n_stations"],
        n_source_stations=w["n_source_stations"],
        seed=w["seed"],
        static=False,
    )


def demo_static(job: Any) -> None:
    """Rule ``demo_soil_static``: the demo's drivers that do not depend on the year
    (elevation, sand, clay), apart so that a change of ``years`` does not rewrite them."""
    from agrifactory.synthetic.soil_moisture import write_static_drivers

    setup_logging(job.log[0])
    w = job.params.world
    written = write_static_drivers(
        Path(job.output.driver_dem).parent.parent, bbox=w["bbox"], seed=w["seed"]
    )
    log.info("static drivers written: %s", ", ".join(str(p) for p in written.values()))


def train(job: Any) -> None:
    """Rule ``sm_train``: one LightGBM downscaler per layer over the region and year."""
    from agrifactory.soil_moisture.pipeline import train_downscaler_from_files

    setup_logging(job.log[0])
    train_downscaler_from_files(
        reanalysis_inputs(job.input),
        driver_inputs(job.input),
        int(job.wildcards.year),
        job.output[0],
        settings=_settings(job.params),
        seed=job.params.seed,
    )


def downscale(job: Any) -> None:
    """Rule ``sm_downscale``: daily 1 km soil moisture of one tile and year (CF NetCDF)."""
    from agrifactory.soil_moisture.pipeline import downscale_tile

    setup_logging(job.log[0])
    downscale_tile(
        job.input.model,
        reanalysis_inputs(job.input),
        driver_inputs(job.input),
        job.wildcards.tile,
        job.params.tile_km,
        int(job.wildcards.year),
        job.output[0],
        settings=_settings(job.params),
    )


def bias_train(job: Any) -> None:
    """Rule ``sm_bias_train``: pretrain, cross-validate (by station) and fine-tune the CNN."""
    from agrifactory.soil_moisture.pipeline import set_torch_threads, train_bias_correction

    setup_logging(job.log[0])
    set_torch_threads(job.threads)
    out = job.output
    train_bias_correction(
        job.input.model,
        reanalysis_inputs(job.input),
        driver_inputs(job.input),
        station_inputs(job.input, "stations"),
        int(job.wildcards.year),
        out.cnn,
        out.evaluation,
        out.series,
        source_stations=station_inputs(job.input, "source_stations"),
        settings=_settings(job.params),
        seed=job.params.seed,
    )


def calibrate(job: Any) -> None:
    """Rule ``sm_calibrate``: apply the bias-correction CNN over one tile-year (CF NetCDF)."""
    from agrifactory.soil_moisture.pipeline import calibrate_tile, set_torch_threads

    setup_logging(job.log[0])
    set_torch_threads(job.threads)
    calibrate_tile(
        job.input.downscaled,
        job.input.cnn,
        driver_inputs(job.input),
        job.output[0],
        neighbours=list(job.input.neighbours),
        batch_days=job.params.batch_days,
    )


def plots(job: Any) -> None:
    """Rule ``sm_plots``: observed, downscaled and calibrated (held-out) series at stations."""
    from agrifactory.soil_moisture.plots import plot_station_series

    setup_logging(job.log[0])
    chosen = _settings(job.params).plots
    plot_station_series(
        job.input[0], job.output[0], stations=chosen.stations, n_stations=chosen.n_stations
    )


def report(job: Any) -> None:
    """Rule ``sm_report``: the evaluation table (HTML) and a map of the calibrated product."""
    from agrifactory.io.tables import read_table
    from agrifactory.report.context import load_context
    from agrifactory.report.soil import soil_moisture_map
    from agrifactory.report.tables import write_html_table

    setup_logging(job.log[0])
    year = job.wildcards.year
    write_html_table(
        read_table(job.input.evaluation, "soil-moisture evaluation table", "rerun sm_bias_train"),
        job.output.table,
        title=f"Soil moisture at held-out stations ({year})",
        caption=(
            "Leave-stations-out cross-validation grouped by station: PCC, RMSE, unbiased RMSE "
            "and bias (m3/m3) per layer, for the reanalysis, the downscaled product, the "
            "calibrated product (pretrained then fine-tuned) and the same CNN trained on the "
            "target stations alone."
        ),
    )
    soil_moisture_map(
        job.input.calibrated,
        job.output.map,
        month=job.params.month,
        title=f"Calibrated 1 km soil moisture, {year}",
        context=load_context(job.input.tiles, job.input.provinces),
    )
