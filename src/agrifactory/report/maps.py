"""Quicklook maps: a class product with its legend, a continuous product with a colour bar.

Both read the raster (a tile's COG or a product's VRT mosaic) at reduced
resolution (GDAL's ``mode`` resampling for classes, ``average`` for continuous
values; nodata is left out of both) and draw it in its own equal-area metres
with a scale bar and a degree graticule; given a
:class:`~agrifactory.report.context.MapContext`, also the tile outlines with their ids
and a locator inset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar  # noqa: E402
from rasterio.enums import Resampling  # noqa: E402

from agrifactory import legend  # noqa: E402
from agrifactory.io.files import atomic_path  # noqa: E402
from agrifactory.io.raster import open_raster  # noqa: E402
from agrifactory.report.context import MapContext, add_context  # noqa: E402
from agrifactory.report.palettes import palette  # noqa: E402


@dataclass(frozen=True)
class Overview:
    """A band read at reduced resolution.

    Attributes
    ----------
    data
        Masked array (nodata masked).
    extent
        ``(x_min, x_max, y_min, y_max)`` in the raster's CRS units (metres).
    pixel_size
        Ground size of one overview pixel.
    units, description
        The band's unit and description (may be empty).
    crs
        The raster's CRS (WKT).
    """

    data: np.ma.MaskedArray
    extent: tuple[float, float, float, float]
    pixel_size: float
    units: str
    description: str
    crs: str

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(x_min, y_min, x_max, y_max)``."""
        x0, x1, y0, y1 = self.extent
        return (x0, y0, x1, y1)


def read_overview(
    path: str | Path, *, band: int = 1, max_size: int = 1000, categorical: bool = True
) -> Overview:
    """Read one band so that its longer side has at most ``max_size`` pixels."""
    with open_raster(path) as src:
        if not 1 <= band <= src.count:
            raise ValueError(f"{path}: band {band} requested, the raster has {src.count}")
        factor = max(1.0, max(src.width, src.height) / max_size)
        shape = (max(1, round(src.height / factor)), max(1, round(src.width / factor)))
        data = src.read(
            band,
            out_shape=shape,
            resampling=Resampling.mode if categorical else Resampling.average,
            masked=True,
        )
        if not categorical:
            data = np.ma.masked_invalid(data)
        left, bottom, right, top = src.bounds
        return Overview(
            data=data,
            extent=(left, right, bottom, top),
            pixel_size=(right - left) / shape[1],
            units=src.units[band - 1] or "",
            description=src.descriptions[band - 1] or "",
            crs=src.crs.to_wkt(),
        )


def nice_length(width: float, share: float = 0.25) -> float:
    """A round scale-bar length (1, 2 or 5 times a power of ten) at most ``share`` of ``width``."""
    target = width * share
    base = 10 ** math.floor(math.log10(target))
    return max(m * base for m in (1, 2, 5) if m * base <= target)


def add_scale_bar(ax: plt.Axes, width_m: float) -> None:
    """Draw a scale bar in the lower left of a map whose data units are metres."""
    length = nice_length(width_m)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    bar = AnchoredSizeBar(
        ax.transData,
        length,
        label,
        "lower left",
        pad=0.4,
        borderpad=0.6,
        sep=4,
        frameon=True,
        size_vertical=width_m / 150,
        color="black",
    )
    bar.patch.set_alpha(0.8)
    ax.add_artist(bar)


def _frame(
    ax: plt.Axes,
    ov: Overview,
    title: str | None,
    context: MapContext | None,
    notes: dict[str, str] | None = None,
    footnote: str | None = None,
) -> None:
    add_context(ax, ov.bounds, ov.crs, context, notes)
    if title:
        ax.set_title(title, fontsize=11)
    projection = f"China Albers equal-area; shown at {ov.pixel_size:.0f} m pixels"
    ax.set_xlabel(f"{footnote}\n{projection}" if footnote else projection, fontsize=8)
    add_scale_bar(ax, ov.extent[1] - ov.extent[0])


def _save(fig: plt.Figure, out: str | Path, dpi: int) -> Path:
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return Path(out)


def quicklook_classes(
    path: str | Path,
    out: str | Path,
    *,
    product: str,
    classes: dict[int, str] | None = None,
    title: str | None = None,
    context: MapContext | None = None,
    max_size: int = 1000,
    dpi: int = 110,
) -> Path:
    """PNG map of a uint8 class product with a legend of its classes.

    Parameters
    ----------
    path
        The class raster (tile COG or VRT mosaic).
    out
        Output ``.png``.
    product
        Legend name in :data:`agrifactory.legend.LEGENDS` (``cropland``,
        ``irrigation``, ``croptype``, ``landcover``).
    classes
        A legend to use instead (code -> name).
    title, max_size, dpi
        Figure title, longer side of the overview in pixels, resolution.
    context
        Tiles and provinces: outlines with ids and a locator inset.
    """
    classes = dict(classes if classes is not None else legend.LEGENDS[product])
    colours = palette(product, classes)
    ov = read_overview(path, max_size=max_size, categorical=True)
    codes = sorted(classes)
    lut = np.full(256, -1, dtype=np.int16)
    lut[codes] = np.arange(len(codes))
    index = np.ma.masked_where(
        np.ma.getmaskarray(ov.data) | (ov.data.filled(legend.NODATA) == legend.NODATA),
        lut[ov.data.filled(legend.NODATA)],
    )
    index = np.ma.masked_less(index, 0)
    cmap = ListedColormap([colours[c] for c in codes]).with_extremes(bad="white")
    norm = BoundaryNorm(np.arange(len(codes) + 1) - 0.5, len(codes))
    fig, ax = plt.subplots(figsize=(7.5, 6.2), layout="constrained")
    ax.imshow(index, cmap=cmap, norm=norm, extent=ov.extent, interpolation="nearest")
    present = set(np.unique(ov.data.compressed()).tolist())
    handles = [
        Patch(facecolor=colours[c], edgecolor="0.4", label=classes[c].replace("_", " "))
        for c in codes
        if c in present
    ]
    handles.append(Patch(facecolor="white", edgecolor="0.4", label="no data"))
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False
    )
    _frame(ax, ov, title or product.replace("_", " "), context)
    return _save(fig, out, dpi)


def quicklook_continuous(
    path: str | Path,
    out: str | Path,
    *,
    band: int = 1,
    cmap: str = "RdYlGn",
    vmin: float | None = None,
    vmax: float | None = None,
    label: str | None = None,
    title: str | None = None,
    context: MapContext | None = None,
    notes: dict[str, str] | None = None,
    footnote: str | None = None,
    max_size: int = 1000,
    dpi: int = 110,
) -> Path:
    """PNG map of one band of a continuous product (NDVI, soil moisture) with a colour bar.

    ``vmin``/``vmax`` default to the 2nd and 98th percentiles of the valid
    values; the colour bar is labelled ``label`` or the band's unit. ``context``
    adds tile outlines (with ``notes`` per tile id under the ids) and a locator;
    ``footnote`` is a line under the map.
    """
    ov = read_overview(path, band=band, max_size=max_size, categorical=False)
    valid = ov.data.compressed()
    if valid.size == 0:
        raise ValueError(f"{path}: band {band} holds no valid values to draw")
    lo = float(np.percentile(valid, 2)) if vmin is None else vmin
    hi = float(np.percentile(valid, 98)) if vmax is None else vmax
    fig, ax = plt.subplots(figsize=(7.5, 6.2), layout="constrained")
    image = ax.imshow(
        ov.data,
        cmap=plt.get_cmap(cmap).with_extremes(bad="white"),
        vmin=lo,
        vmax=hi,
        extent=ov.extent,
        interpolation="nearest",
    )
    bar = fig.colorbar(image, ax=ax, shrink=0.8, extend="both")
    bar.set_label(label or ov.units or "value")
    default_title = Path(path).stem + (f" — {ov.description}" if ov.description else "")
    _frame(ax, ov, title or default_title, context, notes, footnote)
    return _save(fig, out, dpi)
