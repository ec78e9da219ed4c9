"""Context for the report's maps: degree graticule, tile outlines with ids, a locator inset,
and the run-level overview map (China's provinces with the run's tiles).

Every map is drawn in the grid CRS (equal-area metres). The graticule's meridians and
parallels are projected into it and labelled where they cross the map's lower and left
edges. The locator shows mainland China's provinces, simplified once by rule
``overview_map`` (:func:`simplified_provinces`), with the mapped area's box.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from matplotlib.collections import PatchCollection  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from pyproj import CRS, Transformer  # noqa: E402

from agrifactory.boundaries import NON_MAINLAND_ADCODES, read_units  # noqa: E402
from agrifactory.errors import InputError  # noqa: E402
from agrifactory.io.files import atomic_path  # noqa: E402
from agrifactory.report.names import PROVINCES_EN  # noqa: E402

#: ``(x_min, y_min, x_max, y_max)`` in the grid CRS.
Bounds = tuple[float, float, float, float]

#: Douglas-Peucker tolerance (m) of the locator's provinces: invisible at China's scale.
SIMPLIFY_M = 5_000.0
#: Above this many tiles in view, outlines are drawn without their ids (unreadable).
MAX_TILE_LABELS = 60
_STEPS = (1, 2, 5)


@dataclass(frozen=True)
class MapContext:
    """What every map draws around its data.

    Attributes
    ----------
    tiles
        The run's tiles (column ``tile``, box geometries) in the grid CRS.
    provinces
        Mainland provinces (columns ``adcode``, ``name``), simplified, in the grid CRS.
    """

    tiles: gpd.GeoDataFrame
    provinces: gpd.GeoDataFrame


@dataclass(frozen=True)
class TileLabel:
    """A tile id and where it is written: the tile's upper-left corner (grid CRS), the text
    hanging just inside it (clear of the locator in the map's upper right)."""

    tile: str
    x: float
    y: float


def simplified_provinces(provinces_path: str | Path, crs: CRS) -> gpd.GeoDataFrame:
    """Mainland provinces from a boundaries GeoPackage, in ``crs``, simplified for maps."""
    units = read_units(provinces_path)
    units = units[~units["adcode"].isin(NON_MAINLAND_ADCODES)].to_crs(crs)
    units["geometry"] = units.geometry.simplify(SIMPLIFY_M, preserve_topology=False)
    return units[["adcode", "name", "geometry"]].reset_index(drop=True)


def load_context(tiles_path: str | Path, provinces_path: str | Path) -> MapContext:
    """The run's tiles GeoPackage and the simplified provinces of rule ``overview_map``."""
    tiles = gpd.read_file(tiles_path)
    if "tile" not in tiles.columns:
        raise InputError(tiles_path, "has no 'tile' column", "rerun the 'tiles' rule")
    provinces = gpd.read_file(provinces_path).to_crs(tiles.crs)
    return MapContext(tiles=tiles, provinces=provinces)


def tile_labels(tiles: gpd.GeoDataFrame, view: Bounds | None = None) -> list[TileLabel]:
    """Each tile's id at its upper-left corner, for the tiles whose corner lies in ``view``
    (not on its right or lower edge)."""
    bounds = tiles.geometry.bounds
    labels = [
        TileLabel(str(t), float(x), float(y))
        for t, x, y in zip(tiles["tile"], bounds["minx"], bounds["maxy"], strict=True)
    ]
    if view is None:
        return labels
    x0, y0, x1, y1 = view
    return [lab for lab in labels if x0 <= lab.x < x1 and y0 < lab.y <= y1]


def locator_box(bounds: Bounds, outline: Bounds, min_share: float = 0.03) -> Bounds:
    """The mapped box as drawn on the locator: ``bounds`` grown about its centre so that
    each side is at least ``min_share`` of the outline's longer side (visible at
    China's scale)."""
    least = min_share * max(outline[2] - outline[0], outline[3] - outline[1])
    cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    half_w = max(bounds[2] - bounds[0], least) / 2
    half_h = max(bounds[3] - bounds[1], least) / 2
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def nice_step(span: float, most: int = 5) -> float:
    """The least step of 1, 2 or 5 times a power of ten giving at most ``most`` intervals."""
    exponent = math.floor(math.log10(span / most))
    for power in (exponent, exponent + 1):
        for m in _STEPS:
            step = m * 10.0**power
            if span / step <= most + 1e-9:
                return step
    return 10.0 ** (exponent + 2)


def _degree_label(value: float, step: float, positive: str, negative: str) -> str:
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    hemisphere = positive if value >= 0 else negative
    return f"{abs(value):.{decimals}f}°{hemisphere if round(value, decimals) else ''}"


def _multiples(lo: float, hi: float, step: float) -> np.ndarray:
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return np.round(np.arange(first, last + 1) * step, 10)


@dataclass(frozen=True)
class Graticule:
    """Meridians and parallels across a map and where they cross its edges.

    Attributes
    ----------
    lines
        ``(xs, ys)`` polylines of every meridian and parallel, in the grid CRS.
    x_ticks, y_ticks
        ``(position, label)`` where meridians cross the lower edge and parallels the
        left edge.
    """

    lines: list[tuple[np.ndarray, np.ndarray]]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]


def graticule(bounds: Bounds, crs: CRS | str, step: float | None = None) -> Graticule:
    """The degree graticule over ``bounds`` of a map in ``crs`` (a step of
    :func:`nice_step` over the longer side in degrees unless given)."""
    to_map = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    west, south, east, north = Transformer.from_crs(
        crs, "EPSG:4326", always_xy=True
    ).transform_bounds(*bounds, densify_pts=21)
    step = step or nice_step(max(east - west, north - south))
    lines, x_ticks, y_ticks = [], [], []
    for lon in _multiples(west, east, step):
        xs, ys = to_map.transform(np.full(101, lon), np.linspace(south, north, 101))
        lines.append((xs, ys))
        if ys[0] <= bounds[1] <= ys[-1]:
            x_ticks.append(
                (float(np.interp(bounds[1], ys, xs)), _degree_label(lon, step, "E", "W"))
            )
    for lat in _multiples(south, north, step):
        xs, ys = to_map.transform(np.linspace(west, east, 101), np.full(101, lat))
        lines.append((xs, ys))
        if xs[0] <= bounds[0] <= xs[-1]:
            y_ticks.append(
                (float(np.interp(bounds[0], xs, ys)), _degree_label(lat, step, "N", "S"))
            )
    return Graticule(lines, x_ticks, y_ticks)


def draw_graticule(ax: plt.Axes, bounds: Bounds, crs: CRS | str, step: float | None = None) -> None:
    """Thin meridians and parallels over a map, labelled in degrees on its axes."""
    grid = graticule(bounds, crs, step)
    for xs, ys in grid.lines:
        ax.plot(xs, ys, color="0.45", linewidth=0.4, linestyle=":", zorder=3)
    ax.set_xticks([p for p, _ in grid.x_ticks], [t for _, t in grid.x_ticks], fontsize=7)
    ax.set_yticks([p for p, _ in grid.y_ticks], [t for _, t in grid.y_ticks], fontsize=7)
    ax.set_xlim(bounds[0], bounds[2])
    ax.set_ylim(bounds[1], bounds[3])
    ax.set_xlabel("")
    ax.set_ylabel("")


def draw_tiles(
    ax: plt.Axes,
    tiles: gpd.GeoDataFrame,
    view: Bounds,
    notes: Mapping[str, str] | None = None,
    colour: str = "0.15",
) -> None:
    """Tile outlines, and each tile's id (and its note) in its upper-left corner when few
    are in view."""
    boxes = [
        Rectangle((x0, y0), x1 - x0, y1 - y0)
        for x0, y0, x1, y1 in tiles.geometry.bounds.itertuples(index=False)
    ]
    ax.add_collection(
        PatchCollection(boxes, facecolor="none", edgecolor=colour, linewidth=0.8, zorder=4)
    )
    labels = tile_labels(tiles, view)
    if len(labels) > MAX_TILE_LABELS:
        return
    size = 8 if len(labels) <= 16 else 6
    for lab in labels:
        note = (notes or {}).get(lab.tile)
        ax.annotate(
            lab.tile + (f"\n{note}" if note else ""),
            (lab.x, lab.y),
            xytext=(4, -4),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=size,
            zorder=5,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.7, "lw": 0},
        )


def add_locator(ax: plt.Axes, provinces: gpd.GeoDataFrame, bounds: Bounds) -> plt.Axes:
    """A small inset in the map's upper right: mainland China with the mapped box in red."""
    inset = ax.inset_axes((0.74, 0.74, 0.25, 0.25))
    provinces.plot(ax=inset, color="0.85", edgecolor="0.6", linewidth=0.2)
    outline = tuple(provinces.total_bounds)
    x0, y0, x1, y1 = locator_box(bounds, outline)
    inset.add_patch(
        Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="none", edgecolor="red", linewidth=1.0)
    )
    inset.set_xlim(outline[0], outline[2])
    inset.set_ylim(outline[1], outline[3])
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_xlabel("")
    inset.set_ylabel("")
    inset.set_aspect("equal")
    inset.set_facecolor("white")
    return inset


def add_context(
    ax: plt.Axes,
    bounds: Bounds,
    crs: CRS | str,
    context: MapContext | None,
    notes: Mapping[str, str] | None = None,
) -> None:
    """Graticule, and with a context the tile outlines (ids, notes) and the locator."""
    draw_graticule(ax, bounds, crs)
    if context is not None:
        draw_tiles(ax, context.tiles, bounds, notes)
        add_locator(ax, context.provinces, bounds)
        ax.set_xlim(bounds[0], bounds[2])
        ax.set_ylim(bounds[1], bounds[3])


def padded(bounds: Bounds, share: float) -> Bounds:
    """``bounds`` grown by ``share`` of its longer side on every edge."""
    pad = share * max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    return (bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)


def _province_names(ax: plt.Axes, provinces: gpd.GeoDataFrame, view: Bounds) -> None:
    box = shapely.box(*view)
    for adcode, geom in zip(provinces["adcode"], provinces.geometry, strict=True):
        part = geom.intersection(box)
        if part.area > 0.02 * box.area:  # near the view's lower edge, clear of the tile ids
            x = part.centroid.x
            y = part.bounds[1] + 0.03 * (view[3] - view[1])
            name = PROVINCES_EN.get(str(adcode), str(adcode))
            ax.text(x, y, name, fontsize=8, color="0.3", style="italic", ha="center", zorder=2)


def overview_map(context: MapContext, out: str | Path, *, title: str = "", dpi: int = 100) -> Path:
    """The run's locator: mainland China's provinces with the mapped area (left), and the
    mapped area with each tile outlined and labelled by id (right)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5.4), layout="constrained")
    provinces, tiles = context.provinces, context.tiles
    china = tuple(provinces.total_bounds)
    mapped = tuple(tiles.total_bounds)
    provinces.plot(ax=left, color="0.9", edgecolor="0.55", linewidth=0.3)
    x0, y0, x1, y1 = locator_box(mapped, china)
    left.add_patch(
        Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="none", edgecolor="red", linewidth=1.2)
    )
    draw_graticule(left, padded(china, 0.02), tiles.crs, step=10.0)
    left.set_title("Mainland China: provinces and the mapped area (red)", fontsize=10)
    view = padded(mapped, 0.15)
    provinces.plot(ax=right, color="0.95", edgecolor="0.45", linewidth=0.8)
    _province_names(right, provinces, view)
    draw_tiles(right, tiles, view, colour="red")
    draw_graticule(right, view, tiles.crs)
    right.set_title(f"The run's {len(tiles)} tiles", fontsize=10)
    for ax in (left, right):
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return Path(out)


def valid_shares(path: str | Path, tiles: gpd.GeoDataFrame, band: int = 1) -> dict[str, float]:
    """Share (0-1) of each tile's pixels with a value in one band of a raster (a mosaic)."""
    from rasterio.windows import from_bounds

    from agrifactory.io.raster import open_raster

    shares = {}
    with open_raster(path) as src:
        for tile, (x0, y0, x1, y1) in zip(
            tiles["tile"], tiles.geometry.bounds.itertuples(index=False), strict=True
        ):
            window = from_bounds(x0, y0, x1, y1, src.transform).round_offsets().round_lengths()
            data = np.ma.masked_invalid(src.read(band, window=window, masked=True))
            shares[str(tile)] = float(data.count() / data.size) if data.size else 0.0
    return shares


def share_notes(shares: Mapping[str, float]) -> dict[str, str]:
    """The note under each tile's id: its share of pixels with a value, in whole per cent."""
    return {tile: f"{100 * share:.0f} % valid" for tile, share in shares.items()}


def valid_share_note(shares: Mapping[str, float]) -> str:
    """One line on how much of the map has a value: the share over all tiles (tiles are
    equal squares, so the mean of theirs) and its range per tile, in per cent."""
    values = np.array(list(shares.values()), dtype=float)
    overall = float(values.mean())
    return (
        f"Pixels with a value on this date: {100 * overall:.1f} % of the tiles' pixels "
        f"({100 * values.min():.1f}–{100 * values.max():.1f} % per tile; white: no value)."
    )
