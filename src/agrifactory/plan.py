"""The run plan: what a config asks for, worked out before any job runs.

The Snakefile builds one :class:`RunPlan` when it is parsed. The plan validates
everything that can be checked up front (tile size, AOI, tile list, years
against the MODIS mission, input directories and files, inventories: every
listed path exists and every date lies within its sensor's mission) so that bad
input stops the run with a clear message before a single job starts, and it
answers the DAG's questions: which tiles, which years, which scenes a tile job
needs.

A tile-year's scenes reach its ingest job as params (:meth:`RunPlan.scene_params`),
not as input files (hundreds of thousands of them would slow the DAG to minutes).
Outside the demo each record carries the size and modification time of the files
the ingest reads, looked up when Snakemake first asks for the tile-year's params,
so a changed scene file changes that tile's params and reruns exactly its ingest.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from agrifactory import grid
from agrifactory.errors import ConfigError
from agrifactory.grid import Tile
from agrifactory.ingest.rules import LANDSAT_BANDS
from agrifactory.io import inventory, landsat, missions, remote
from agrifactory.io.files import for_year

log = logging.getLogger(__name__)

#: Where the demo writes its inputs and its truth (inside the results folder).
DEMO_INPUTS = "results/demo/inputs"
DEMO_TRUTH = "results/demo/truth"

#: Field of a scene record (rule params) holding the size and mtime of its files.
FILES_FIELD = "files"


def read_tile_list(path: str | Path) -> list[str]:
    """Tile ids from a text file (one per line, ``#`` comments); duplicates are an error."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"grid.tiles_file {path} does not exist")
    ids = [ln.split("#", 1)[0].strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    return grid.check_unique_tile_ids([i for i in ids if i], str(path))


def plan_tiles(grid_cfg: Mapping[str, Any]) -> list[Tile]:
    """The tiles of a run from the config's ``grid`` section."""
    tile_km = grid.check_tile_km(grid_cfg["tile_km"])
    spec = grid.GridSpec.from_config(grid_cfg)
    if grid_cfg.get("tiles_file"):
        return [Tile.from_id(t, tile_km, spec) for t in read_tile_list(grid_cfg["tiles_file"])]
    mode = grid_cfg["mode"]
    if mode == "aoi":
        if not grid_cfg.get("aoi_bbox"):
            raise ConfigError("grid.mode is 'aoi' but grid.aoi_bbox is not set")
        return grid.tiles_for_aoi(grid_cfg["aoi_bbox"], tile_km, spec)
    if mode == "china":
        from agrifactory import boundaries, tiles

        log.warning(
            "grid.mode 'china' without grid.tiles_file: computing the tile list from the boundaries (slow)"
        )
        units = boundaries.to_albers(boundaries.load_units("province", mainland_only=True))
        if spec != grid.DEFAULT_GRID:
            units = units.to_crs(spec.crs)
        return tiles.tiles_for_units(units, tile_km, spec)
    raise ConfigError(f"grid.mode {mode!r} needs grid.tiles_file (or use 'aoi' or 'china')")


def _check_exists(path: str | Path, what: str, *, directory: bool = False) -> None:
    p = Path(path)
    ok = p.is_dir() if directory else p.exists()
    if not ok:
        kind = "directory" if directory else "file"
        raise ConfigError(f"{what}: {kind} {p} does not exist; fix the path in the config")


def _check_inventory_paths(table: pd.DataFrame, key: str, source: str | Path) -> None:
    """Every scene folder and composite file an inventory lists must exist (checked before any job)."""
    missing = [i for i, p in enumerate(table["path"]) if not os.path.exists(p)]
    if missing:
        first = table.iloc[missing[0]]
        raise ConfigError(
            f"inputs.{key} ({source}) lists {len(missing)} path(s) that do not exist, e.g. "
            f"{first['path']} ({first['sensor']} {first['id']}, row {missing[0] + 2}); "
            f"restore the files, or rescan with 'agrifactory inventory {first['sensor']} "
            f"DIR -o {source}'"
        )


def check_years(years: list[int]) -> None:
    """Every year lies within MODIS (the fusion blends Landsat with MODIS composites)."""
    first = missions.FIRST_MODIS
    early = [y for y in years if dt.date(y, 12, 31) < first.start]
    if early:
        raise ConfigError(
            f"years {early}: before MODIS; {first.name} data start on {first.start.isoformat()} "
            f"and the factory needs MODIS composites for the fusion; choose years from "
            f"{first.start.year}"
        )
    partial = [y for y in years if dt.date(y, 1, 1) < first.start]
    if partial:
        log.warning(
            "years %s: %s data start on %s, so the first weeks of %s have no MODIS composite",
            partial,
            first.name,
            first.start.isoformat(),
            partial[0],
        )


def _read_files(record: Mapping[str, str]) -> list[tuple[str, str]]:
    """(name, path) of each file the ingest reads for a scene record.

    MODIS: the composite. Landsat: the band files of
    :data:`~agrifactory.ingest.rules.LANDSAT_BANDS` the record lists, named as
    :func:`agrifactory.io.landsat.band_path` names them (without parsing the product
    id: this runs for every scene of an all-China DAG).
    """
    assets = inventory.row_assets(record)
    if assets:  # URLs: the record itself names them (and changes when they do)
        return [(name, path) for name, path in assets.items() if not remote.is_url(path)]
    if record["sensor"] == "modis":
        return [("file", record["path"])]
    prefix = os.path.join(record["path"], f"{record['id']}_")
    return [
        (name, f"{prefix}{suffix}.TIF")
        for name, suffix in _band_suffixes(record["id"][:4], record["bands"])
    ]


@functools.lru_cache(maxsize=256)
def _band_suffixes(sensor: str, bands: str) -> tuple[tuple[str, str], ...]:
    """(name, file suffix) of the :data:`LANDSAT_BANDS` a scene lists in its ``bands`` field.

    One answer per sensor code and band list: an all-China inventory has a handful of
    each, and this runs for every scene.
    """
    family = landsat.sensor_family(sensor)
    present = set(bands.split(";"))
    pairs = ((n, n if n.isupper() else landsat.band_suffix(family, n)) for n in LANDSAT_BANDS)
    return tuple((name, suffix) for name, suffix in pairs if suffix in present)


def file_stats(record: Mapping[str, str]) -> str:
    """``name:size:mtime`` of each file the ingest reads for one scene record (``missing`` if absent)."""
    out = []
    for name, path in _read_files(record):
        try:
            st = os.stat(path)
        except OSError:
            out.append(f"{name}:missing")
            continue
        out.append(f"{name}:{st.st_size}:{int(st.st_mtime)}")
    return ";".join(out)


@dataclass
class RunPlan:
    """Tiles, years and per-tile inputs of one run.

    The DAG asks for the scenes of every tile-year several times (inputs, params),
    so the lookups are answered from arrays computed once: the tiles each
    inventory row covers (one spatial index query for all tiles), and the
    inventory order by date and id.
    """

    config: Mapping[str, Any]
    tiles: list[Tile]
    years: list[int]
    inventory: pd.DataFrame
    _by_tile: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _selected: dict[tuple[str, int, str], np.ndarray] = field(default_factory=dict, repr=False)
    _columns: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _records: list[dict[str, str]] | None = field(default=None, repr=False)
    _stats: dict[int, dict[str, str]] = field(default_factory=dict, repr=False)
    _acquired: dict[tuple[int, str, str], RunPlan] = field(default_factory=dict, repr=False)

    @property
    def demo(self) -> bool:
        return bool(self.config.get("demo", False))

    @property
    def tile_ids(self) -> list[str]:
        return [t.id for t in self.tiles]

    def tile(self, tile_id: str) -> Tile:
        return Tile.from_id(tile_id, self.tiles[0].tile_km, self.tiles[0].spec)

    def _index(self) -> None:
        """Rows per tile (one STRtree query for all tiles) and the columns the lookups filter on."""
        # Edges cut at 0.25 degrees bend with the projection to within about 15 m,
        # and keep an all-China inventory's footprints small (each cluster job
        # parses the workflow and builds this index).
        crs = self.tiles[0].spec.crs
        tree = shapely.STRtree(
            inventory.albers_footprints(self.inventory, max_segment_deg=0.25, crs=crs)
        )
        boxes = [shapely.box(*t.bounds) for t in self.tiles]
        t_idx, r_idx = tree.query(boxes, predicate="intersects")
        order = np.argsort(t_idx, kind="stable")
        t_idx, r_idx = t_idx[order], r_idx[order]
        bounds = np.searchsorted(t_idx, np.arange(len(self.tiles) + 1))
        for i, t in enumerate(self.tiles):
            self._by_tile[t.id] = np.sort(r_idx[bounds[i] : bounds[i + 1]])
        inv = self.inventory
        rank = np.empty(len(inv), dtype=np.int64)
        dates = pd.to_datetime(inv["date"]).to_numpy("datetime64[D]")
        rank[np.lexsort((inv["id"].to_numpy(str), dates))] = np.arange(len(inv))
        self._columns = {"sensor": inv["sensor"].to_numpy(str), "date": dates, "rank": rank}

    def _selection(self, tile_id: str, year: int, sensor: str) -> np.ndarray:
        """Positions of a tile-year's rows of one sensor, ordered by date and id."""
        key = (tile_id, int(year), sensor)
        if key not in self._selected:
            if not self._columns:
                self._index()
            rows = self._by_tile.get(tile_id, np.array([], dtype=np.int64))
            window = inventory.year_window(int(year), int(self.config["ingest"]["margin_days"]))
            start, end = (np.datetime64(d, "D") for d in window)
            col = self._columns
            keep = (
                (col["sensor"][rows] == sensor)
                & (col["date"][rows] >= start)
                & (col["date"][rows] <= end)
            )
            rows = rows[keep]
            self._selected[key] = rows[np.argsort(col["rank"][rows], kind="stable")]
        return self._selected[key]

    def scenes(self, tile_id: str, year: int, sensor: str) -> pd.DataFrame:
        """Inventory rows of a sensor that cover a tile within the year's ingest window."""
        return self.inventory.iloc[self._selection(tile_id, year, sensor)]

    def scene_records(self, tile_id: str, year: int, sensor: str) -> list[dict[str, str]]:
        """The rows of :meth:`scenes` as plain string records (without footprints), for rule params."""
        if self._records is None:
            drop = ["geometry", "footprint"]
            if not inventory.has_assets(self.inventory):
                drop.append(inventory.ASSETS)
            table = self.inventory.drop(columns=drop, errors="ignore").astype(str)
            # The records DataFrame.to_dict("records") gives, built from the columns (2x faster).
            names = list(table.columns)
            columns = [table[c].tolist() for c in names]
            rows = zip(*columns, strict=True)
            self._records = [dict(zip(names, row, strict=True)) for row in rows]
        return [self._records[i] for i in self._selection(tile_id, year, sensor)]

    def scene_params(self, tile_id: str, year: int, sensor: str) -> list[dict[str, str]]:
        """The records of :meth:`scene_records` as rule params: outside the demo, with file stats.

        Each record gains :data:`FILES_FIELD` (:func:`file_stats`), looked up once per
        scene when a tile-year's params are first asked for, so a changed or deleted
        file changes the params of exactly the tile-years that read it. The demo's
        scenes are outputs of its own rules (and its ingest depends on the demo
        inventory written after them), so its records carry no stats.
        """
        records = self.scene_records(tile_id, year, sensor)
        if self.demo:
            return records
        rows = self._selection(tile_id, year, sensor)
        for i, record in zip(rows.tolist(), records, strict=True):
            if i not in self._stats:
                self._stats[i] = {**record, FILES_FIELD: file_stats(record)}
        return [self._stats[i] for i in rows.tolist()]

    @property
    def stac(self) -> bool:
        """Whether the scenes come from a STAC search (rule acquire) rather than inventories."""
        return self.config["inputs"].get("source") == "stac"

    def search_bbox(self) -> list[float]:
        """[lon_min, lat_min, lon_max, lat_max] of the run's tiles (what rule acquire searches)."""
        return tiles_lonlat_bbox(self.tiles)

    def acquired(self, year: int, landsat_csv: str, modis_csv: str) -> RunPlan:
        """The plan of one year whose scenes rule acquire found (read once per year)."""
        key = (int(year), landsat_csv, modis_csv)
        if key not in self._acquired:
            table = pd.concat(
                [inventory.read_inventory(p) for p in (landsat_csv, modis_csv)], ignore_index=True
            )
            self._acquired[key] = RunPlan(self.config, self.tiles, [int(year)], table)
        return self._acquired[key]


def tiles_lonlat_bbox(tiles: list[Tile]) -> list[float]:
    """[lon_min, lat_min, lon_max, lat_max] (degrees) of the box around ``tiles``, its curved
    edges followed (64 points a side) so no corner of a tile falls outside."""
    from pyproj import Transformer

    bounds = np.array([t.bounds for t in tiles])
    box = shapely.box(*bounds[:, :2].min(axis=0), *bounds[:, 2:].max(axis=0))
    to_lonlat = Transformer.from_crs(tiles[0].spec.crs, "EPSG:4326", always_xy=True)
    edge = shapely.segmentize(box, box.length / 256)
    lonlat = shapely.transform(edge, lambda c: np.column_stack(to_lonlat.transform(*c.T)))
    return [round(float(v), 6) for v in lonlat.bounds]


def _check_other_inputs(inputs: Mapping[str, Any], years: list[int]) -> None:
    """The samples and statistics files named in the config must exist (the statistics
    of every run year where a path holds '{year}')."""
    if inputs.get("samples"):
        _check_exists(inputs["samples"], "inputs.samples")
    for level, path in (inputs.get("statistics") or {}).items():
        for p in sorted({for_year(path, y) for y in years} if path else ()):
            _check_exists(p, f"inputs.statistics.{level}")


def build_plan(config: Mapping[str, Any]) -> RunPlan:
    """Validate a (schema-checked) config and work out the run plan."""
    tiles = plan_tiles(config["grid"])
    years = [int(y) for y in config["years"]]
    if len(set(years)) != len(years):
        raise ConfigError(f"years {years} lists a year twice")
    check_years(years)
    margin = int(config["ingest"]["margin_days"])
    if config.get("demo", False):
        from agrifactory.synthetic import demo

        table = demo.planned_inventory(
            demo.world_spec(config["demo_world"], tiles, None, config["seed"]),
            years,
            config["demo_world"],
            f"{DEMO_INPUTS}/landsat",
            f"{DEMO_INPUTS}/modis",
            margin,
        )
    elif config["inputs"].get("source") == "stac":
        # The inventories come from rule acquire, per year (RunPlan.acquired).
        table = inventory.validate_inventory(
            pd.DataFrame(columns=inventory.COLUMNS_WITH_ASSETS), "no inventory"
        )
    elif config["inputs"].get("ndvi_cube"):
        # The NDVI cube replaces ingest, quality and fusion: no scene inventories.
        table = inventory.validate_inventory(
            pd.DataFrame(columns=inventory.COLUMNS), "no inventory"
        )
        _check_exists(
            config["inputs"]["ndvi_cube"]["folder"], "inputs.ndvi_cube.folder", directory=True
        )
        _check_other_inputs(config["inputs"], years)
    else:
        inputs = config["inputs"]
        tables = []
        for key in ("landsat_inventory", "modis_inventory"):
            if not inputs.get(key):
                raise ConfigError(
                    f"inputs.{key} is not set; create it with 'agrifactory inventory' (see the README)"
                )
            _check_exists(inputs[key], f"inputs.{key}")
            tables.append(inventory.read_inventory(inputs[key]))
            _check_inventory_paths(tables[-1], key, inputs[key])
        # Each table is validated on reading; across the two only the ids can clash.
        table = pd.concat(tables, ignore_index=True)
        dups = sorted(set(table["id"][table["id"].duplicated()]))
        if dups:
            raise ConfigError(
                f"inputs.landsat_inventory and inputs.modis_inventory both list id(s) {dups[:5]}"
            )
        _check_other_inputs(inputs, years)
    plan = RunPlan(config=config, tiles=tiles, years=years, inventory=table)
    log.info(
        "run plan: %d tiles x %d year(s), %d inventory rows", len(tiles), len(years), len(table)
    )
    return plan
