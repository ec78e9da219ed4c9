"""The scale and offset of each Landsat band of one date, from the scenes' metadata files.

A scene whose inventory row lists ``MTL`` is scaled by its metadata file
(:mod:`agrifactory.io.landsat_mtl`); one without is scaled by the documented
Collection 2 constants and recorded in the tile's QA table (``no_mtl``). The scenes
of one date are mosaicked before scaling, so they must agree (all C2 L2 products
carry the same constants).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from agrifactory.errors import InputError
from agrifactory.ingest.qa import NO_MTL, QaLog
from agrifactory.ingest.rules import LANDSAT_FLOAT
from agrifactory.io import landsat, landsat_mtl
from agrifactory.io.inventory import row_assets, scene_bands
from agrifactory.io.scaling import ProductScaling

Scaling = dict[str, tuple[float, float]]


def scene_scaling(
    row: pd.Series, qa: QaLog, fallback: ProductScaling
) -> tuple[Scaling, Path | str | None]:
    """(scale, offset) of each band of :data:`LANDSAT_FLOAT` a scene has, and its MTL file."""
    pid = landsat.parse_product_id(row["id"], source=row["path"])
    present = set(scene_bands(row))
    suffixes = {n: pid.band_suffix(n) for n in LANDSAT_FLOAT if pid.band_suffix(n) in present}
    if landsat_mtl.MTL_BAND not in present:
        qa.add(
            "landsat",
            row["id"],
            row["date"],
            row["path"],
            NO_MTL,
            "no metadata file (<product id>_MTL.json/.xml/.txt) listed: scaled by the "
            "documented Collection 2 constants",
        )
        return {n: fallback.landsat(s) for n, s in suffixes.items()}, None
    path = row_assets(row).get(landsat_mtl.MTL_BAND) or landsat_mtl.find_mtl(row["path"], pid.text)
    if path is None:
        raise InputError(
            Path(row["path"]) / f"{pid.text}_MTL.json",
            "the inventory lists a metadata file (MTL) but none of .json/.xml/.txt exists",
            "rescan the folder with 'agrifactory inventory landsat'",
        )
    mtl = landsat_mtl.read_mtl(path, pid.text, list(suffixes.values()))
    return {n: mtl.scale_offset(s) for n, s in suffixes.items()}, path


def date_scaling(rows: pd.DataFrame, qa: QaLog, fallback: ProductScaling | None = None) -> Scaling:
    """(scale, offset) of each band name the scenes of one date have; scenes that disagree
    are an :class:`InputError` naming the metadata file (or scene folder) that differs."""
    out: Scaling = {}
    first: dict[str, Path | str] = {}
    for _, row in rows.iterrows():
        scaling, source = scene_scaling(row, qa, fallback or ProductScaling())
        for name, pair in scaling.items():
            if name in out and out[name] != pair:
                raise InputError(
                    source or row["path"],
                    f"{name} is scaled by {pair}, but {first[name]} of the same date by "
                    f"{out[name]}: the scenes of one date are mosaicked before scaling",
                    "check the metadata files of the date's scenes",
                )
            out.setdefault(name, pair)
            first.setdefault(name, source or row["path"])
    return out
