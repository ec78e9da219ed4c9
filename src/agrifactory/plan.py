"""The run plan: what a config asks for, worked out before any job runs.

The Snakefile builds one :class:`RunPlan` when it is parsed. The plan validates
everything that can be checked up front (tile size, AOI, tile list, input
directories and files, inventories) so that bad input stops the run with a
clear message before a single job starts, and it answers the DAG's questions:
which tiles, which years, which input files a tile job needs.
"""

from __future__ import annotations

import datetime as dt
import logging
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


@dataclass
class RunPlan:
    """Tiles, years and per-tile inputs of one run."""

    config: Mapping[str, Any]
    tiles: list[Tile]
    years: list[int]
    inventory: pd.DataFrame
    _by_tile: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def demo(self) -> bool:
        return bool(self.config.get("demo", False))

    @property
    def tile_ids(self) -> list[str]:
        return [t.id for t in self.tiles]

    def tile(self, tile_id: str) -> Tile:
        return Tile.from_id(tile_id, self.tiles[0].tile_km)

    def _rows_of_tile(self, tile_id: str) -> pd.DataFrame:
        if not self._by_tile:
            fp = inventory.albers_footprints(self.inventory)
            tree = shapely.STRtree(fp)
            boxes = [shapely.box(*t.bounds) for t in self.tiles]
            t_idx, r_idx = tree.query(boxes, predicate="intersects")
            for i, t in enumerate(self.tiles):
                self._by_tile[t.id] = np.sort(r_idx[t_idx == i])
        return self.inventory.iloc[self._by_tile.get(tile_id, np.array([], int))]

    def scenes(self, tile_id: str, year: int, sensor: str) -> pd.DataFrame:
        """Inventory rows of a sensor that cover a tile within the year's ingest window."""
        start, end = inventory.year_window(int(year), int(self.config["ingest"]["margin_days"]))
        rows = self._rows_of_tile(tile_id)
        sel = (rows["sensor"] == sensor) & (rows["date"] >= start) & (rows["date"] <= end)
        return rows[sel].sort_values(["date", "id"])

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
        table = inventory.validate_inventory(
            pd.concat([t.drop(columns=["geometry"]) for t in tables], ignore_index=True).assign(
                date=lambda d: d["date"].map(dt.date.isoformat)
            ),
            "inventories",
        )
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
