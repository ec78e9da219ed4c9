"""The factory's grid: equal-area tiles on one global origin (China Albers by default).

Every tile is a square of ``tile_km`` kilometres whose corners lie on a lattice
anchored at the grid's origin (:data:`ORIGIN_X`, :data:`ORIGIN_Y` by default). The
CRS and the origin are settings (``grid.crs``, ``grid.origin``; :class:`GridSpec`):
any projected equal-area CRS, so a pixel's area is the same everywhere. Because the edge is a multiple of
3 km, the 30 m grid (and the 1 km grid) of every tile share its bounds exactly, and
neighbouring tiles abut without gaps or overlaps. A tile id ``h{col:03d}v{row:03d}``
names the same ground in every run with the same tile size.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from affine import Affine
from pyproj import CRS, Transformer
from pyproj.crs import GeographicCRS, ProjectedCRS
from pyproj.crs.coordinate_operation import AlbersEqualAreaConversion
from pyproj.exceptions import CRSError

from agrifactory.errors import ConfigError

#: China Albers equal-area conic (WGS84), the CRS of everything that is counted.
ALBERS_PROJ4 = (
    "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
)
ALBERS = ProjectedCRS(
    name="China Albers Equal Area (WGS84)",
    conversion=AlbersEqualAreaConversion(
        latitude_first_parallel=25.0,
        latitude_second_parallel=47.0,
        latitude_false_origin=0.0,
        longitude_false_origin=105.0,
    ),
    geodetic_crs=GeographicCRS(name="WGS 84", datum="WGS84"),
)

#: Upper-left corner of the tile lattice (metres, Albers). West and north of all of China.
ORIGIN_X = -3_000_000.0
ORIGIN_Y = 6_000_000.0

#: Pixel sizes of the two product grids (metres).
FINE_RES = 30.0
COARSE_RES = 1000.0

#: Map projections (PROJ's method names) that preserve area; ``grid.crs`` must use one.
EQUAL_AREA_METHODS = frozenset(
    {
        "Albers Equal Area",
        "Lambert Azimuthal Equal Area",
        "Lambert Azimuthal Equal Area (Spherical)",
        "Lambert Cylindrical Equal Area",
        "Lambert Cylindrical Equal Area (Spherical)",
        "Sinusoidal",
        "Mollweide",
        "Equal Earth",
        "Interrupted Goode Homolosine",
        "Goode Homolosine",
        "Eckert IV",
        "Eckert VI",
    }
)
EQUAL_AREA_HINT = (
    "an equal-area projection such as Albers (aea), Lambert azimuthal (laea), Lambert "
    "cylindrical (cea, e.g. EPSG:6933), sinusoidal (sinu), Mollweide (moll), Equal Earth "
    "(eqearth) or Goode homolosine (igh), as a PROJ string, EPSG/ESRI code or WKT"
)

_TILE_ID = re.compile(r"^h(\d{3,4})v(\d{3,4})$")


def equal_area_problem(text: str | CRS) -> str | None:
    """Why ``text`` cannot be the grid's CRS (not read, not projected, not equal-area), or None."""
    try:
        crs = CRS.from_user_input(text)
    except CRSError as exc:
        return f"not a CRS pyproj reads ({exc}); use {EQUAL_AREA_HINT}"
    if crs.equals(ALBERS, ignore_axis_order=True):
        return None
    op = crs.coordinate_operation if crs.is_projected else None
    method = op.method_name if op is not None else None
    if method in EQUAL_AREA_METHODS:
        return None
    what = f"its projection is {method!r}" if method else "it is not a projected CRS"
    return f"{what}, which does not preserve area; tiles and areas need {EQUAL_AREA_HINT}"


def grid_crs(text: str | CRS) -> CRS:
    """The CRS of ``grid.crs``: a projected equal-area CRS, else a :class:`ConfigError`.

    The China Albers definition gives :data:`ALBERS` itself, so files keep its name.
    """
    problem = equal_area_problem(text)
    if problem:
        raise ConfigError(f"grid.crs = {text!r}: {problem}")
    return known_crs(text)


def known_crs(crs: object) -> CRS:
    """A raster's CRS as a pyproj CRS, :data:`ALBERS` itself where it is China Albers."""
    crs = CRS.from_user_input(crs)
    return ALBERS if crs.equals(ALBERS, ignore_axis_order=True) else crs


@dataclass(frozen=True)
class GridSpec:
    """The lattice every tile lies on: its equal-area CRS, upper-left corner (metres) and
    fine pixel size (metres; 30 m unless a run works on another sensor's own pixels)."""

    crs: CRS = ALBERS
    origin: tuple[float, float] = (ORIGIN_X, ORIGIN_Y)
    fine_res: float = FINE_RES

    @classmethod
    def from_config(cls, cfg: Mapping | None) -> GridSpec:
        """The spec of a config's ``grid`` section (or rule params); absent keys: defaults."""
        cfg = cfg or {}
        crs = grid_crs(cfg["crs"]) if cfg.get("crs") is not None else ALBERS
        origin = cfg.get("origin") or (ORIGIN_X, ORIGIN_Y)
        res = float(cfg.get("fine_res") or FINE_RES)
        return cls(crs=crs, origin=(float(origin[0]), float(origin[1])), fine_res=res)


#: The default grid: China Albers, origin west and north of all of China.
DEFAULT_GRID = GridSpec()


def job_grid(params: object) -> GridSpec:
    """The grid of a rule's ``params.grid`` (the config's grid section); default without one."""
    return GridSpec.from_config(getattr(params, "grid", None))


def check_tile_km(tile_km: int) -> int:
    """Validate a tile edge: a whole number of km that is a multiple of 3, >= 6."""
    if isinstance(tile_km, bool) or not isinstance(tile_km, int | np.integer):
        raise ConfigError(f"grid.tile_km must be an integer number of km, got {tile_km!r}")
    if tile_km < 6 or tile_km % 3:
        raise ConfigError(
            f"grid.tile_km = {tile_km}: the tile edge must be a multiple of 3 km and at "
            "least 6 km so the 30 m and 1 km grids both fit it exactly (e.g. 15, 90, 120)"
        )
    return int(tile_km)


def tile_id(col: int, row: int) -> str:
    """The id of the tile in lattice column ``col`` and row ``row``."""
    return f"h{col:03d}v{row:03d}"


def parse_tile_id(tid: str) -> tuple[int, int]:
    """``'h123v045'`` -> ``(123, 45)``; a malformed id is a :class:`ConfigError`."""
    m = _TILE_ID.match(tid)
    if not m:
        raise ConfigError(f"malformed tile id {tid!r}; expected h<col>v<row> such as h210v061")
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class PixelGrid:
    """A north-up raster grid (China Albers by default): a tile at one resolution."""

    x_min: float
    y_max: float
    res: float
    width: int
    height: int
    crs: CRS = field(default=ALBERS)

    @property
    def transform(self) -> Affine:
        return Affine(self.res, 0.0, self.x_min, 0.0, -self.res, self.y_max)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(x_min, y_min, x_max, y_max) in metres."""
        return (
            self.x_min,
            self.y_max - self.height * self.res,
            self.x_min + self.width * self.res,
            self.y_max,
        )

    def bounds_in(self, crs: CRS | str, densify: int = 21) -> tuple[float, float, float, float]:
        """The grid's bounds in another CRS, edges densified so the box covers the whole grid."""
        transformer = Transformer.from_crs(self.crs, crs, always_xy=True)
        return transformer.transform_bounds(*self.bounds, densify_pts=densify)

    def pixel_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """1-D x (columns) and y (rows) coordinates of pixel centres."""
        x = self.x_min + (np.arange(self.width) + 0.5) * self.res
        y = self.y_max - (np.arange(self.height) + 0.5) * self.res
        return x, y


def lattice_cells(
    x: np.ndarray, y: np.ndarray, origin: tuple[float, float], size: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(cols, rows)`` of the square cells of ``size`` metres, counted from the upper-left
    ``origin``, that hold the points ``(x, y)`` (pixels of a grid, blocks of the lattice)."""
    cols = np.floor((np.asarray(x, dtype=float) - origin[0]) / size).astype(np.int64)
    rows = np.floor((origin[1] - np.asarray(y, dtype=float)) / size).astype(np.int64)
    return cols, rows


@dataclass(frozen=True)
class Tile:
    """One square tile of the global lattice."""

    col: int
    row: int
    tile_km: int
    spec: GridSpec = field(default=DEFAULT_GRID)

    @property
    def id(self) -> str:
        return tile_id(self.col, self.row)

    @property
    def size_m(self) -> float:
        """The tile edge: ``tile_km`` km, or on a grid whose fine pixel does not divide
        3 km (``grid.fine_res``, e.g. MODIS's 231.66 m), the whole number of fine pixels
        nearest to it, so neighbouring tiles still abut pixel for pixel."""
        size = self.tile_km * 1000.0
        res = self.spec.fine_res
        if res == FINE_RES:
            return size
        return round(size / res) * res

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(x_min, y_min, x_max, y_max) in metres of the grid's CRS."""
        origin_x, origin_y = self.spec.origin
        x_min = origin_x + self.col * self.size_m
        y_max = origin_y - self.row * self.size_m
        return (x_min, y_max - self.size_m, x_min + self.size_m, y_max)

    def grid(self, res: float | None = None, halo_px: int = 0) -> PixelGrid:
        """The tile's pixel grid at ``res`` metres (default: the grid's fine pixel),
        optionally grown by ``halo_px`` pixels."""
        res = self.spec.fine_res if res is None else res
        n = self.size_m / res
        if abs(n - round(n)) > 1e-9:
            raise ConfigError(
                f"a {self.tile_km} km tile does not hold a whole number of {res} m pixels"
            )
        n = round(n)
        x_min, _, _, y_max = self.bounds
        return PixelGrid(
            x_min=x_min - halo_px * res,
            y_max=y_max + halo_px * res,
            res=res,
            width=n + 2 * halo_px,
            height=n + 2 * halo_px,
            crs=self.spec.crs,
        )

    @classmethod
    def from_id(cls, tid: str, tile_km: int, spec: GridSpec = DEFAULT_GRID) -> Tile:
        col, row = parse_tile_id(tid)
        return cls(col, row, check_tile_km(tile_km), spec)


def tiles_covering(
    bounds: Sequence[float], tile_km: int, spec: GridSpec = DEFAULT_GRID
) -> list[Tile]:
    """All tiles that intersect a box ``(x_min, y_min, x_max, y_max)`` in the grid's CRS.

    A box edge that falls exactly on a tile edge does not pull in the neighbour.
    """
    check_tile_km(tile_km)
    x_min, y_min, x_max, y_max = bounds
    if not (x_max > x_min and y_max > y_min):
        raise ConfigError(f"empty or inverted box {tuple(bounds)}")
    size = Tile(0, 0, tile_km, spec).size_m
    origin_x, origin_y = spec.origin
    c0 = math.floor((x_min - origin_x) / size)
    c1 = math.ceil((x_max - origin_x) / size)
    r0 = math.floor((origin_y - y_max) / size)
    r1 = math.ceil((origin_y - y_min) / size)
    if c0 < 0 or r0 < 0:
        raise ConfigError(
            f"box {tuple(bounds)} lies west or north of the tile origin {spec.origin}"
        )
    return [Tile(c, r, tile_km, spec) for r in range(r0, r1) for c in range(c0, c1)]


def lonlat_box_to_albers(
    bbox: Sequence[float], densify: int = 21, crs: CRS = ALBERS
) -> tuple[float, float, float, float]:
    """The bounds in ``crs`` (Albers by default) of a lon/lat box, with densified edges so
    curved edges are covered."""
    lon0, lat0, lon1, lat1 = bbox
    if not (-180 <= lon0 < lon1 <= 180 and -90 <= lat0 < lat1 <= 90):
        raise ConfigError(
            f"AOI box {tuple(bbox)} is not [lon_min, lat_min, lon_max, lat_max] in degrees"
        )
    transformer = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return transformer.transform_bounds(lon0, lat0, lon1, lat1, densify_pts=densify)


def tiles_for_aoi(
    bbox_lonlat: Sequence[float], tile_km: int, spec: GridSpec = DEFAULT_GRID
) -> list[Tile]:
    """Tiles covering a lon/lat bounding box (the AOI mode)."""
    box = lonlat_box_to_albers(bbox_lonlat, crs=spec.crs)
    return tiles_covering(box, tile_km, spec)


def check_unique_tile_ids(ids: Iterable[str], source: str) -> list[str]:
    """Validate a tile list: well-formed ids and no duplicates (named in the error)."""
    ids = list(ids)
    for tid in ids:
        parse_tile_id(tid)
    seen: set[str] = set()
    dups = sorted({t for t in ids if t in seen or seen.add(t)})
    if dups:
        raise ConfigError(f"{source}: duplicate tile ids {', '.join(dups)}; list each tile once")
    return ids


def pixel_area_m2(res: float = FINE_RES) -> float:
    """Area of one pixel in the equal-area CRS (the same everywhere)."""
    return res * res
