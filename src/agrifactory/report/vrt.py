"""VRT mosaics: one GDAL virtual raster per product over all its tiles.

The VRT is written as XML directly (no GDAL Python bindings needed). Tiles lie
on one lattice, so each tile is a ``SimpleSource`` at a whole-pixel offset;
paths are stored relative to the VRT, so the folder can be moved or copied
as a whole. Class products get a colour table and category names, so QGIS
shows them in their legend colours when the file is opened.
"""

from __future__ import annotations

import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyproj import CRS

from agrifactory.errors import GridError
from agrifactory.io.files import write_text_atomic
from agrifactory.io.raster import open_raster
from agrifactory.report.palettes import rgba

#: GDAL's names of NumPy dtypes.
GDAL_TYPES = {
    "uint8": "Byte",
    "int8": "Int8",
    "uint16": "UInt16",
    "int16": "Int16",
    "uint32": "UInt32",
    "int32": "Int32",
    "uint64": "UInt64",
    "int64": "Int64",
    "float32": "Float32",
    "float64": "Float64",
}


@dataclass(frozen=True)
class _Source:
    path: Path
    x_min: float
    y_max: float
    width: int
    height: int
    res: float
    count: int
    dtype: str
    nodata: float | None
    crs: CRS
    block: tuple[int, int]
    descriptions: tuple[str | None, ...]
    units: tuple[str | None, ...]


def _inspect(path: Path) -> _Source:
    with open_raster(path) as src:
        t = src.transform
        if t.b != 0 or t.d != 0 or t.e != -t.a:
            raise GridError(
                f"{path}: not a north-up square-pixel raster (transform {tuple(t)[:6]})"
            )
        return _Source(
            path=path,
            x_min=t.c,
            y_max=t.f,
            width=src.width,
            height=src.height,
            res=t.a,
            count=src.count,
            dtype=src.dtypes[0],
            nodata=src.nodata,
            crs=CRS.from_user_input(src.crs),
            block=tuple(src.block_shapes[0]),
            descriptions=tuple(src.descriptions),
            units=tuple(src.units),
        )


def _check_same(sources: Sequence[_Source]) -> None:
    first = sources[0]
    for s in sources[1:]:
        for what in ("res", "count", "dtype"):
            if getattr(s, what) != getattr(first, what):
                raise GridError(
                    f"{s.path}: {what} {getattr(s, what)} differs from {first.path} "
                    f"({getattr(first, what)}); a mosaic needs tiles of one product"
                )
        same_nodata = (s.nodata == first.nodata) or (
            s.nodata is not None
            and first.nodata is not None
            and np.isnan(s.nodata)
            and np.isnan(first.nodata)
        )
        if not same_nodata:
            raise GridError(
                f"{s.path}: nodata {s.nodata} differs from {first.path} ({first.nodata})"
            )
        if not s.crs.equals(first.crs, ignore_axis_order=True):
            raise GridError(f"{s.path}: CRS differs from {first.path}")


def _offset(value: float, res: float, path: Path) -> int:
    px = value / res
    if abs(px - round(px)) > 1e-6:
        raise GridError(
            f"{path}: lies {px % 1:.6f} pixel off the mosaic's grid; tiles must share one lattice"
        )
    return round(px)


def write_vrt(
    sources: Sequence[str | Path],
    out: str | Path,
    *,
    classes: Mapping[int, str] | None = None,
    colours: Mapping[int, str] | None = None,
) -> Path:
    """Write a VRT mosaic of tiles of one product.

    Parameters
    ----------
    sources
        The tiles' rasters (same CRS, resolution, band count, dtype and nodata,
        on one pixel lattice, not overlapping).
    out
        Output ``.vrt`` path; source paths are written relative to it.
    classes, colours
        For class products: class names and ``#rrggbb`` colours by code; they
        become the band's category names and colour table.

    Raises
    ------
    GridError
        Tiles that differ in grid, type or nodata, lie off one lattice, or overlap.
    """
    if not sources:
        raise ValueError("a mosaic needs at least one tile")
    out = Path(out)
    tiles = [_inspect(Path(p)) for p in sources]
    _check_same(tiles)
    res = tiles[0].res
    x0 = min(t.x_min for t in tiles)
    y0 = max(t.y_max for t in tiles)
    placed = []
    for t in tiles:
        col = _offset(t.x_min - x0, res, t.path)
        row = _offset(y0 - t.y_max, res, t.path)
        placed.append((t, col, row))
    width = max(col + t.width for t, col, _ in placed)
    height = max(row + t.height for t, _, row in placed)
    _check_no_overlap(placed)

    root = ET.Element("VRTDataset", rasterXSize=str(width), rasterYSize=str(height))
    srs = ET.SubElement(root, "SRS", dataAxisToSRSAxisMapping="1,2")
    srs.text = tiles[0].crs.to_wkt()
    ET.SubElement(root, "GeoTransform").text = f"{x0!r}, {res!r}, 0.0, {y0!r}, 0.0, {-res!r}"
    first = tiles[0]
    for band in range(1, first.count + 1):
        vb = ET.SubElement(root, "VRTRasterBand", dataType=GDAL_TYPES[first.dtype], band=str(band))
        if first.descriptions[band - 1]:
            ET.SubElement(vb, "Description").text = first.descriptions[band - 1]
        if first.nodata is not None:
            ET.SubElement(vb, "NoDataValue").text = (
                "nan" if math.isnan(first.nodata) else repr(first.nodata)
            )
        if first.units[band - 1]:
            ET.SubElement(vb, "UnitType").text = first.units[band - 1]
        if classes is not None and band == 1:
            _add_categories(vb, classes, colours or {}, first.nodata)
        for t, col, row in placed:
            _add_source(vb, t, band, col, row, out.parent)
    ET.indent(root)
    write_text_atomic(out, ET.tostring(root, encoding="unicode") + "\n")
    return out


def _check_no_overlap(placed: list[tuple[_Source, int, int]]) -> None:
    seen: dict[tuple[int, int, int, int], Path] = {}
    for t, col, row in placed:
        box = (col, row, col + t.width, row + t.height)
        for other, path in seen.items():
            if box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]:
                raise GridError(f"{t.path} overlaps {path}; a mosaic takes each tile once")
        seen[box] = t.path


def _add_categories(
    vb: ET.Element, classes: Mapping[int, str], colours: Mapping[int, str], nodata: float | None
) -> None:
    ET.SubElement(vb, "ColorInterp").text = "Palette"
    names = ET.SubElement(vb, "CategoryNames")
    table = ET.SubElement(vb, "ColorTable")
    for code in range(256):
        ET.SubElement(names, "Category").text = classes.get(code, "")
        r, g, b, a = rgba(colours[code]) if code in colours else (0, 0, 0, 0)
        if nodata is not None and code == nodata:
            a = 0
        ET.SubElement(table, "Entry", c1=str(r), c2=str(g), c3=str(b), c4=str(a))


def _add_source(vb: ET.Element, t: _Source, band: int, col: int, row: int, vrt_dir: Path) -> None:
    src = ET.SubElement(vb, "SimpleSource")
    rel = os.path.relpath(t.path.resolve(), vrt_dir.resolve())
    ET.SubElement(src, "SourceFilename", relativeToVRT="1").text = Path(rel).as_posix()
    ET.SubElement(src, "SourceBand").text = str(band)
    ET.SubElement(
        src,
        "SourceProperties",
        RasterXSize=str(t.width),
        RasterYSize=str(t.height),
        DataType=GDAL_TYPES[t.dtype],
        BlockXSize=str(t.block[1]),
        BlockYSize=str(t.block[0]),
    )
    ET.SubElement(src, "SrcRect", xOff="0", yOff="0", xSize=str(t.width), ySize=str(t.height))
    ET.SubElement(
        src, "DstRect", xOff=str(col), yOff=str(row), xSize=str(t.width), ySize=str(t.height)
    )
