"""The QA records of a tile-year's ingest: scenes skipped, scenes that added nothing, defaults used.

Every record is also a WARNING in the rule's log naming the file. The records go
to ``ingest/qa.csv`` (header only when there is nothing to report); see
docs/data-formats.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import rasterio
import shapely
from rasterio.warp import transform_bounds

from agrifactory.grid import PixelGrid

log = logging.getLogger(__name__)

#: Columns of ``ingest/qa.csv``.
QA_COLUMNS = ["sensor", "id", "date", "file", "problem", "detail"]

#: Problems a record can name.
UNREADABLE = "unreadable"
NO_VALID_PIXELS = "no_valid_pixels"
NO_SCALE_TAG = "no_scale_tag"
QC_ALL_BAD = "qc_all_bad"
NO_MTL = "no_mtl"
MISSING_BANDS = "missing_bands"


@dataclass
class QaLog:
    """The QA records of one tile-year, each logged as a WARNING when added."""

    tile: str
    year: int
    records: list[dict[str, str]] = field(default_factory=list)

    def add(
        self, sensor: str, scene_id: str, date: object, file: str | Path, problem: str, detail: str
    ) -> None:
        """Record a problem of one scene's file (and log it as a WARNING); a repeat is ignored."""
        record = {
            "sensor": sensor,
            "id": scene_id,
            "date": str(date),
            "file": str(file),
            "problem": problem,
            "detail": detail,
        }
        if record in self.records:  # a date read again after one of its scenes was skipped
            return
        self.records.append(record)
        log.warning(
            "tile %s, %s: %s %s: %s (%s)", self.tile, self.year, problem, file, detail, scene_id
        )

    def skipped(self, sensor: str) -> set[str]:
        """Ids of the scenes of ``sensor`` left out as unreadable."""
        return {
            r["id"] for r in self.records if r["sensor"] == sensor and r["problem"] == UNREADABLE
        }

    def table(self) -> pd.DataFrame:
        """The records as the ``qa.csv`` table (columns :data:`QA_COLUMNS`)."""
        return pd.DataFrame(self.records, columns=QA_COLUMNS)


def why_empty(src: rasterio.DatasetReader, grid: PixelGrid) -> str:
    """Why a file listed for a tile gave it no valid pixel: its bounds miss the tile, or it is fill there."""
    try:
        box = shapely.box(*transform_bounds(src.crs, grid.crs, *src.bounds))
    except Exception as exc:  # PROJ raises several kinds for impossible transforms
        return f"its bounds in its CRS ({src.crs}) cannot be placed on the tile grid ({exc})"
    if not box.intersects(shapely.box(*grid.bounds)):
        return (
            f"its bounds in its CRS ({src.crs}) miss the tile although the inventory's "
            "footprint covers it: a wrong CRS tag, or a file changed since the inventory "
            "was made (rescan with 'agrifactory inventory')"
        )
    return "no valid pixel over the tile (fill, nodata or out of range everywhere it overlaps)"
