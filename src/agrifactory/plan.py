"""The run plan: what a config asks for, worked out before any job runs.

The Snakefile builds one :class:`RunPlan` when it is parsed. The plan validates
everything that can be checked up front (tile size, AOI, tile list, input
directories and files, inventories) so that bad input stops the run with a
clear message before a single job starts, and it answers the DAG's questions:
which tiles, which years, which input files a tile job needs.
"""

from __future__ import annotations

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
from agrifactory.io import inventory

log = logging.getLogger(__name__)

#: Where the demo writes its inputs and its truth (inside the results folder).
DEMO_INPUTS = "results/demo/inputs"
DEMO_TRUTH = "results/demo/truth"

#: Spectral names and QA bands the ingest reads from every Landsat scene (when present);
#: ``inventory.landsat_files`` resolves the names per sensor family.
LANDSAT_BANDS = ("blue", "red", "nir", "thermal", "QA_PIXEL", "QA_RADSAT")


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
    if grid_cfg.get("tiles_file"):
        return [Tile.from_id(t, tile_km) for t in read_tile_list(grid_cfg["tiles_file"])]
    mode = grid_cfg["mode"]
    if mode == "aoi":
        if not grid_cfg.get("aoi_bbox"):
            raise ConfigError("grid.mode is 'aoi' but grid.aoi_bbox is not set")
        return grid.tiles_for_aoi(grid_cfg["aoi_bbox"], tile_km)
    if mode == "china":
        from agrifactory import boundaries, tiles

        log.warning(
            "grid.mode 'china' without grid.tiles_file: computing the tile list from the boundaries (slow)"
        )
        units = boundaries.to_albers(boundaries.load_units("province", mainland_only=True))
        return tiles.tiles_for_units(units, tile_km)
    raise ConfigError(f"grid.mode {mode!r} needs grid.tiles_file (or use 'aoi' or 'china')")


def _check_exists(path: str | Path, what: str, *, directory: bool = False) -> None:
    p = Path(path)
    ok = p.is_dir() if directory else p.exists()
    if not ok:
        kind = "directory" if directory else "file"
        raise ConfigError(f"{what}: {kind} {p} does not exist; fix the path in the config")


def _check_inventory_paths(table: pd.DataFrame) -> None:
    """Every scene folder and composite file an inventory lists must exist (checked before any job)."""
    missing = [p for p in table["path"] if not os.path.exists(p)]
    if missing:
        raise ConfigError(
            f"{len(missing)} path(s) listed in the inventories do not exist, e.g. {missing[:3]}; "
            "rescan the data with 'agrifactory inventory' or restore the files"
        )


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

    @property
    def demo(self) -> bool:
        return bool(self.config.get("demo", False))

    @property
    def tile_ids(self) -> list[str]:
        return [t.id for t in self.tiles]

    def tile(self, tile_id: str) -> Tile:
        return Tile.from_id(tile_id, self.tiles[0].tile_km)

    def _index(self) -> None:
        """Rows per tile (one STRtree query for all tiles) and the columns the lookups filter on."""
        # Edges cut at 0.25 degrees bend with the projection to within about 15 m,
        # and keep an all-China inventory's footprints small (each cluster job
        # parses the workflow and builds this index).
        tree = shapely.STRtree(inventory.albers_footprints(self.inventory, max_segment_deg=0.25))
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
            table = self.inventory.drop(columns=["geometry", "footprint"], errors="ignore")
            self._records = table.astype(str).to_dict("records")
        return [self._records[i] for i in self._selection(tile_id, year, sensor)]

    def landsat_inputs(self, tile_id: str, year: int) -> list[str]:
        """Every Landsat band file the ingest of a tile-year reads."""
        files: list[str] = []
        for _, row in self.scenes(tile_id, year, "landsat").iterrows():
            files += list(inventory.landsat_files(row, LANDSAT_BANDS).values())
        return files

    def modis_inputs(self, tile_id: str, year: int) -> list[str]:
        """Every MODIS file the ingest of a tile-year reads."""
        return self.scenes(tile_id, year, "modis")["path"].tolist()


def build_plan(config: Mapping[str, Any]) -> RunPlan:
    """Validate a (schema-checked) config and work out the run plan."""
    tiles = plan_tiles(config["grid"])
    years = [int(y) for y in config["years"]]
    if len(set(years)) != len(years):
        raise ConfigError(f"years {years} lists a year twice")
    margin = int(config["ingest"]["margin_days"])
    if config.get("demo", False):
        from agrifactory.synthetic import demo

        if len(years) != 1:
            raise ConfigError("the demo world covers one year; set 'years' to a single year")
        spec = demo.world_spec(config["demo_world"], tiles, years[0], config["seed"])
        table = demo.planned_inventory(
            spec, config["demo_world"], f"{DEMO_INPUTS}/landsat", f"{DEMO_INPUTS}/modis", margin
        )
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
        # Each table is validated on reading; across the two only the ids can clash.
        table = pd.concat(tables, ignore_index=True)
        dups = sorted(set(table["id"][table["id"].duplicated()]))
        if dups:
            raise ConfigError(
                f"inputs.landsat_inventory and inputs.modis_inventory both list id(s) {dups[:5]}"
            )
        _check_inventory_paths(table)
        for key in ("samples",):
            if inputs.get(key):
                _check_exists(inputs[key], f"inputs.{key}")
        for level, path in (inputs.get("statistics") or {}).items():
            if path:
                _check_exists(path, f"inputs.statistics.{level}")
    plan = RunPlan(config=config, tiles=tiles, years=years, inventory=table)
    log.info(
        "run plan: %d tiles x %d year(s), %d inventory rows", len(tiles), len(years), len(table)
    )
    return plan
