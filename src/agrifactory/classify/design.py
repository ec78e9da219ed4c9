"""A stratified random validation sample drawn from a class map (Olofsson et al. 2014).

The strata are the map classes of one product over all tiles of a run. Each stratum
gets ``min_per_class`` points and the rest of ``sample_size`` is shared in
proportion to the mapped areas (their recommendation: enough points in rare classes
for their user's accuracy, the remainder roughly proportional). Points are pixel
centres drawn without replacement, uniformly within each stratum across all tiles,
in two passes over the tiles (counts, then picks) so no map is held whole.

The design is written (by the ``accuracy_design`` rule) as a GeoPackage for a person
to label (an empty ``label`` column); in the demo the truth labels it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from agrifactory.classify.legend import NODATA
from agrifactory.classify.training import encode_labels
from agrifactory.errors import ConfigError, DataError, InputError
from agrifactory.io.raster import open_raster

log = logging.getLogger(__name__)

DESIGN_LAYER = "design"


def map_counts(class_paths: Mapping[str, str | Path], codes: list[int]) -> pd.DataFrame:
    """Pixels of each legend code per tile (rows tiles, columns codes) and the pixel area.

    Codes outside ``codes`` (other than nodata) are an error naming the tile.
    """
    rows = {}
    pixel_m2 = None
    for tile, path in class_paths.items():
        with open_raster(path) as src:
            arr = src.read(1)
            area = abs(src.transform.a * src.transform.e)
        if pixel_m2 is not None and not np.isclose(area, pixel_m2):
            raise DataError(
                f"{path}: pixel area {area} m2 differs from the other tiles' {pixel_m2}"
            )
        pixel_m2 = area
        values, counts = np.unique(arr, return_counts=True)
        stray = sorted(set(values.tolist()) - set(codes) - {NODATA})
        if stray:
            raise DataError(f"{path}: holds codes {stray} outside the legend {codes}")
        found = dict(zip(values.tolist(), counts.tolist(), strict=True))
        rows[tile] = [found.get(c, 0) for c in codes]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=codes)
    table.attrs["pixel_m2"] = pixel_m2
    return table


def allocate(pixels: Mapping[int, int], sample_size: int, min_per_class: int) -> dict[int, int]:
    """Points per stratum: ``min_per_class`` each (or all pixels of a smaller stratum),
    the rest of ``sample_size`` in proportion to the pixel counts (largest remainder)."""
    if min_per_class < 2:
        raise ConfigError(
            f"min_per_class = {min_per_class}: the stratified variance needs 2 per stratum"
        )
    mapped = {c: int(n) for c, n in pixels.items() if n > 0}
    if not mapped:
        raise DataError("the map holds no classified pixel to sample")
    base = {c: min(min_per_class, n) for c, n in mapped.items()}
    rest = max(0, sample_size - sum(base.values()))
    total = sum(mapped.values())
    share = {c: rest * n / total for c, n in mapped.items()}
    extra = {c: int(np.floor(s)) for c, s in share.items()}
    order = sorted(mapped, key=lambda c: (-(share[c] - extra[c]), c))
    for c in order[: rest - sum(extra.values())]:
        extra[c] += 1
    return {c: min(mapped[c], base[c] + extra[c]) for c in sorted(mapped)}


def draw_design(
    class_paths: Mapping[str, str | Path],
    counts: pd.DataFrame,
    allocation: Mapping[int, int],
    seed: int,
) -> pd.DataFrame:
    """Draw the points: ``point_id, tile_id, row, col, x, y, stratum`` (Albers pixel centres)."""
    rng = np.random.default_rng(seed)
    tiles = list(counts.index)
    picks: dict[str, dict[int, np.ndarray]] = {t: {} for t in tiles}
    for code, n in allocation.items():
        per_tile = counts[code].to_numpy()
        ranks = np.sort(rng.choice(int(per_tile.sum()), size=n, replace=False))
        edges = np.concatenate([[0], np.cumsum(per_tile)])
        which = np.searchsorted(edges, ranks, side="right") - 1
        for i, tile in enumerate(tiles):
            local = ranks[which == i] - edges[i]
            if len(local):
                picks[tile][code] = local
    records = []
    for tile in tiles:
        if not picks[tile]:
            continue
        with open_raster(class_paths[tile]) as src:
            arr = src.read(1).ravel()
            transform, width = src.transform, src.width
        for code, local in picks[tile].items():
            flat = np.flatnonzero(arr == code)[local]
            r, c = np.divmod(flat, width)
            x, y = transform * (c + 0.5, r + 0.5)
            records.append(
                pd.DataFrame({"tile_id": tile, "row": r, "col": c, "x": x, "y": y, "stratum": code})
            )
    design = pd.concat(records, ignore_index=True).sort_values(["stratum", "tile_id", "row", "col"])
    design.insert(0, "point_id", [f"P{i:05d}" for i in range(1, len(design) + 1)])
    return design.reset_index(drop=True)


def design_frame(
    design: pd.DataFrame, crs: Any, legend: Mapping[str, int], product: str
) -> gpd.GeoDataFrame:
    """The design as points with ``product``, ``stratum_name`` and an empty ``label`` column
    (written as the GeoPackage layer :data:`DESIGN_LAYER`)."""
    names = {v: k for k, v in legend.items()}
    return gpd.GeoDataFrame(
        design.assign(
            product=product,
            stratum_name=design["stratum"].map(names),
            label=pd.Series([None] * len(design), dtype="string"),
        ),
        geometry=shapely.points(design["x"].to_numpy(), design["y"].to_numpy()),
        crs=crs,
    )


def mapped_area_table(
    counts: pd.DataFrame, legend: Mapping[str, int], product: str, allocation: Mapping[int, int]
) -> pd.DataFrame:
    """Mapped pixels, hectares and sample points per class: ``product, class_code, class_name,
    pixels, mapped_ha, n_points``."""
    ha = counts.attrs["pixel_m2"] / 1e4
    return pd.DataFrame(
        [
            {
                "product": product,
                "class_code": code,
                "class_name": name,
                "pixels": int(counts[code].sum()),
                "mapped_ha": float(counts[code].sum() * ha),
                "n_points": int(allocation.get(code, 0)),
            }
            for name, code in legend.items()
        ]
    )


def values_at_points(path: str | Path, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Raster band 1 at points ``(x, y)`` in its CRS (the pixel holding each point).

    A point outside the raster is an error naming how many and the raster's bounds.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    with open_raster(path) as src:
        inv = ~src.transform
        cols = np.floor(inv.a * x + inv.b * y + inv.c).astype(np.int64)
        rows = np.floor(inv.d * x + inv.e * y + inv.f).astype(np.int64)
        outside = (rows < 0) | (rows >= src.height) | (cols < 0) | (cols >= src.width)
        if outside.any():
            raise DataError(
                f"{path}: {int(outside.sum())} points lie outside the raster (bounds "
                f"{tuple(src.bounds)})"
            )
        arr = src.read(1)
    return arr[rows, cols]


def read_design(path: str | Path) -> gpd.GeoDataFrame:
    """The design layer of a written (or labelled) design GeoPackage."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "design not found", "run the accuracy_design rule")
    return gpd.read_file(path, layer=DESIGN_LAYER)


def label_from_raster(
    design: gpd.GeoDataFrame, raster_path: str | Path, legend: Mapping[str, int]
) -> gpd.GeoDataFrame:
    """The design with its ``label`` filled with the class names of a reference raster
    (the demo truth)."""
    with open_raster(raster_path) as src:
        crs = src.crs
    pts = design.to_crs(crs)
    codes = values_at_points(raster_path, pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy())
    names = {v: k for k, v in legend.items()}
    unknown = sorted(set(codes.tolist()) - set(names))
    if unknown:
        raise DataError(f"{raster_path}: codes {unknown} at design points are not in {legend}")
    design = design.copy()
    design["label"] = pd.Series([names[int(c)] for c in codes], dtype="string")
    return design


def read_labelled_design(path: str | Path, legend: Mapping[str, int]) -> pd.DataFrame:
    """A labelled design: ``point_id, stratum, reference`` (codes); every point labelled.

    Labels are class names of the product's raster legend (or codes); typos are an
    error with the closest name, unknown or missing labels an error naming the points.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "labelled validation sample not found", "label the design first")
    design = gpd.read_file(path, layer=DESIGN_LAYER)
    for col in ("point_id", "stratum", "label"):
        if col not in design.columns:
            raise InputError(path, f"lacks the column {col!r}", "start from the written design")
    codes, unknown = encode_labels(design["label"], legend, "label")
    missing = design.loc[codes.isna() & ~unknown, "point_id"].tolist()
    if missing:
        raise InputError(
            path, f"points {missing[:10]} ({len(missing)}) have no label", "label them"
        )
    if unknown.any():
        bad = design.loc[unknown, ["point_id", "label"]].to_records(index=False).tolist()[:10]
        raise InputError(path, f"labels not in the legend {list(legend)}: {bad}")
    return pd.DataFrame(
        {
            "point_id": design["point_id"],
            "stratum": design["stratum"].astype(int),
            "reference": codes.astype(int),
        }
    )


def stratified_design(
    class_paths: Mapping[str, str | Path],
    legend: Mapping[str, int],
    *,
    sample_size: int,
    min_per_class: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[int, int]]:
    """Count the map, allocate and draw the stratified sample.

    Returns
    -------
    design, counts, allocation
        The points (:func:`draw_design`), the pixels per tile and code
        (:func:`map_counts`) and the points per stratum (:func:`allocate`).
    """
    codes = list(legend.values())
    counts = map_counts(class_paths, codes)
    allocation = allocate(counts.sum().to_dict(), sample_size, min_per_class)
    design = draw_design(class_paths, counts, allocation, seed)
    return design, counts, allocation
