"""Third-party cropland products of the demo world, and its reference blocks.

Three products are made from the truth, each in a real product's file layout and
with errors of the kind real products have, so that the integration stage meets
what it meets on real data:

``worldcover`` (like ESA WorldCover v200, 10 m)
    ``worldcover/ESA_WorldCover_10m_<year>_v200_<N|S><lat>E<lon>_Map.tif``, named by
    the lower-left corner of its 3 x 3 degree tile, EPSG:4326 at 1/12000 degree, ESA's
    legend. Each file covers only the window of its tile over the demo world, as a
    cropped download would, not the whole tile. Error: commission on grassland (a
    share of the grassland fields mapped as cropland).
``clcd`` (like the China Land Cover Dataset, 30 m)
    ``clcd/CLCD_v01_<year>_albert_<province>.tif``, one file per province, nodata
    outside it, Albers at 30 m on a lattice 15 m off the factory's. Errors: omission
    of small parcels (cropland fields under 150 pixels mapped as grassland) and a
    regional bias (in Inner Mongolia a further share of cropland fields as grassland).
``gfsad`` (like GFSAD, a coarser product a year off)
    ``gfsad/gfsad_cropland_<year>.tif``, EPSG:4326 at 0.0025 degree (about 250 m),
    mapping another year than the run's (the demo's config: 2020 for 2021): some
    cropland fields were not cropland then, some grassland fields were.

Each product is written as the edition of the year the config declares for it
(``integration.products``), whatever years the run makes: the demo's land does not
change from year to year, so the files do not either.

Every file carries the tag ``year`` (the year it maps), a tag ``class_<code>`` for
every code of its legend, and a colour map. The reference blocks are squares of
every tile with the truth's cropland fraction, split into training and validation.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from rasterio import features
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds

from agrifactory import legend
from agrifactory.errors import ConfigError
from agrifactory.grid import FINE_RES, PixelGrid
from agrifactory.io.raster import write_raster
from agrifactory.io.vector import write_gpkg
from agrifactory.report.names import PROVINCES_EN
from agrifactory.synthetic.rules import CLCD_DIR, WORLDCOVER_DIR, gfsad_file
from agrifactory.synthetic.world import World, rng_for

log = logging.getLogger(__name__)

WGS84 = CRS.from_epsg(4326)

#: ESA WorldCover's legend (nodata 0).
WORLDCOVER_LEGEND = {
    10: "tree_cover",
    20: "shrubland",
    30: "grassland",
    40: "cropland",
    50: "built_up",
    60: "bare_sparse_vegetation",
    70: "snow_and_ice",
    80: "permanent_water_bodies",
    90: "herbaceous_wetland",
    95: "mangroves",
    100: "moss_and_lichen",
}
#: ESA's own colours of its classes.
WORLDCOVER_COLOURS = {
    10: (0, 100, 0),
    20: (255, 187, 34),
    30: (255, 255, 76),
    40: (240, 150, 255),
    50: (250, 0, 0),
    60: (180, 180, 180),
    70: (240, 240, 240),
    80: (0, 100, 200),
    90: (0, 150, 160),
    95: (0, 207, 117),
    100: (250, 230, 160),
}
#: Pixels per degree of WorldCover (about 10 m) and of its 3-degree tiles.
WORLDCOVER_PER_DEGREE = 12000
WORLDCOVER_TILE_DEG = 3

#: CLCD's legend (nodata 0) and colours.
CLCD_LEGEND = {
    1: "cropland",
    2: "forest",
    3: "shrub",
    4: "grassland",
    5: "water",
    6: "snow_ice",
    7: "barren",
    8: "impervious",
    9: "wetland",
}
CLCD_COLOURS = {
    1: (250, 227, 156),
    2: (68, 111, 51),
    3: (51, 160, 44),
    4: (171, 211, 123),
    5: (30, 105, 180),
    6: (166, 206, 227),
    7: (207, 189, 163),
    8: (226, 66, 144),
    9: (40, 158, 128),
}
#: CLCD's Albers, as its files define it (the ellipsoid, not the datum, of WGS84).
CLCD_CRS = CRS.from_proj4("+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +ellps=WGS84 +units=m")
#: The offset of CLCD's lattice from the factory's (metres, in x and y).
CLCD_OFFSET_M = 15.0
#: Adcode of Inner Mongolia, where the CLCD-like product has its regional bias.
INNER_MONGOLIA = "150000"

#: GFSAD's legend (nodata 255) and colours.
GFSAD_LEGEND = {0: "water", 1: "non_cropland", 2: "cropland"}
GFSAD_COLOURS = {0: (0, 0, 200), 1: (200, 200, 200), 2: (0, 160, 0)}
GFSAD_NODATA = 255
#: Pixels per degree of the GFSAD-like product (0.0025 degree, about 250 m).
GFSAD_PER_DEGREE = 400

#: The error patterns (shares of fields, and the small-parcel limit in world pixels).
WORLDCOVER_GRASS_COMMISSION = 0.30
CLCD_SMALL_FIELD_PX = 150
CLCD_REGIONAL_OMISSION = 0.20
GFSAD_CROP_DROPPED = 0.10
GFSAD_GRASS_ADDED = 0.05

#: Truth land cover to each product's codes.
TO_WORLDCOVER = {"cropland": 40, "grassland": 30, "forest": 10, "water": 80, "built_up": 50}
TO_CLCD = {"cropland": 1, "grassland": 4, "forest": 2, "water": 5, "built_up": 8}

#: Share of every tile's blocks that are reference blocks.
REFERENCE_SHARE = 0.6


def _recode(world: World, mapping: Mapping[str, int]) -> np.ndarray:
    """The truth's land cover in another legend (uint8)."""
    lut = np.zeros(256, dtype=np.uint8)
    for code, name in legend.LANDCOVER.items():
        lut[code] = mapping[name]
    return lut[world.landcover]


def _fields_of(world: World, mask: np.ndarray) -> np.ndarray:
    """Field ids (sorted) with at least one pixel in ``mask``."""
    return np.unique(world.field_id[mask])


def _pick(rng: np.random.Generator, fields: np.ndarray, share: float, n_ids: int) -> np.ndarray:
    """A lookup by field id: True for a random ``share`` of ``fields``."""
    out = np.zeros(n_ids, dtype=bool)
    if fields.size:
        out[rng.choice(fields, size=round(share * fields.size), replace=False)] = True
    return out


def _is(world: World, name: str) -> np.ndarray:
    return world.landcover == legend.code_of(legend.LANDCOVER, name)


def _warp(
    arr: np.ndarray,
    world: World,
    grid: PixelGrid,
    resampling: Resampling,
    nodata: float,
) -> np.ndarray:
    """Warp a world-grid array onto ``grid``; pixels the world does not cover get ``nodata``."""
    out = np.full(grid.shape, nodata, dtype=arr.dtype)
    reproject(
        source=arr,
        destination=out,
        src_transform=world.grid.transform,
        src_crs=world.grid.crs,
        src_nodata=nodata,
        dst_transform=grid.transform,
        dst_crs=grid.crs,
        dst_nodata=nodata,
        resampling=resampling,
    )
    return out


def _tags(year: int, legend_: Mapping[int, str], note: str) -> dict[str, str]:
    return {
        "year": str(year),
        **{f"class_{k}": v for k, v in legend_.items()},
        "source": f"agrifactory demo world: {note}",
    }


def geographic_window(world: World, per_degree: int) -> tuple[int, int, int, int]:
    """The world's box in EPSG:4326 snapped outward to a lattice of ``per_degree`` pixels
    per degree: (west, south, east, north) as whole lattice steps from 0 degrees."""
    w, s, e, n = transform_bounds(world.grid.crs, WGS84, *world.grid.bounds, densify_pts=21)
    return (
        math.floor(w * per_degree),
        math.floor(s * per_degree),
        math.ceil(e * per_degree),
        math.ceil(n * per_degree),
    )


def _geographic_grid(per_degree: int, west: int, south: int, east: int, north: int) -> PixelGrid:
    return PixelGrid(
        x_min=west / per_degree,
        y_max=north / per_degree,
        res=1.0 / per_degree,
        width=east - west,
        height=north - south,
        crs=WGS84,
    )


def worldcover_name(year: int, lon: int, lat: int) -> str:
    """ESA WorldCover's file name of the 3-degree tile whose lower-left corner is
    (``lon``, ``lat``)."""
    ns = f"{'N' if lat >= 0 else 'S'}{abs(lat):02d}"
    ew = f"{'E' if lon >= 0 else 'W'}{abs(lon):03d}"
    return f"ESA_WorldCover_10m_{year}_v200_{ns}{ew}_Map.tif"


def _worldcover_tiles(
    window: tuple[int, int, int, int],
) -> list[tuple[int, int, tuple[int, int, int, int]]]:
    """(lon, lat, sub-window) of every 3-degree tile the window touches."""
    step = WORLDCOVER_TILE_DEG * WORLDCOVER_PER_DEGREE
    west, south, east, north = window
    out = []
    for j in range(west // step, -(-east // step)):
        for i in range(south // step, -(-north // step)):
            sub = (max(west, j * step), max(south, i * step))
            sub += (min(east, (j + 1) * step), min(north, (i + 1) * step))
            out.append((j * WORLDCOVER_TILE_DEG, i * WORLDCOVER_TILE_DEG, sub))
    return out


def write_worldcover(world: World, out_dir: str | Path, year: int) -> list[Path]:
    """Write the WorldCover-like product: one cropped file per 3-degree tile touched.

    Error pattern: commission on grassland, a random 30 % of the grassland fields
    (their grassland pixels) labelled cropland (40).
    """
    rng = rng_for(world.spec.seed, "products_worldcover")
    grass = _is(world, "grassland")
    n_ids = int(world.field_id.max()) + 1
    committed = _pick(rng, _fields_of(world, grass), WORLDCOVER_GRASS_COMMISSION, n_ids)
    codes = _recode(world, TO_WORLDCOVER)
    codes[grass & committed[world.field_id]] = TO_WORLDCOVER["cropland"]
    tags = _tags(year, WORLDCOVER_LEGEND, "truth, 30 % of grassland fields as cropland")
    paths = []
    for lon, lat, sub in _worldcover_tiles(geographic_window(world, WORLDCOVER_PER_DEGREE)):
        grid = _geographic_grid(WORLDCOVER_PER_DEGREE, *sub)
        data = _warp(codes, world, grid, Resampling.nearest, 0)
        path = Path(out_dir) / WORLDCOVER_DIR / worldcover_name(year, lon, lat)
        path.parent.mkdir(parents=True, exist_ok=True)
        paths.append(
            write_raster(
                path,
                data,
                transform=grid.transform,
                crs=grid.crs,
                nodata=0,
                units="class",
                tags=tags,
                colormap=WORLDCOVER_COLOURS,
            )
        )
        log.info("wrote %s (%d x %d px)", path.name, grid.width, grid.height)
    return paths


def clcd_grid(world: World) -> PixelGrid:
    """CLCD's 30 m Albers lattice over the world: 15 m off the factory's in x and y."""
    g = world.grid
    return PixelGrid(
        x_min=g.x_min - CLCD_OFFSET_M,
        y_max=g.y_max + CLCD_OFFSET_M,
        res=FINE_RES,
        width=g.width + 1,
        height=g.height + 1,
        crs=CLCD_CRS,
    )


def province_slug(adcode: str) -> str:
    """A province's name in CLCD's file names: lower-case pinyin without spaces."""
    return PROVINCES_EN.get(str(adcode), str(adcode)).lower().replace(" ", "")


def _mask(geometry: shapely.Geometry, grid: PixelGrid) -> np.ndarray:
    """True on the pixels of ``grid`` whose centre lies in ``geometry``."""
    return features.rasterize(
        [(geometry, 1)], out_shape=grid.shape, transform=grid.transform, fill=0, dtype="uint8"
    ).astype(bool)


def clcd_codes(world: World, provinces: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    """The CLCD-like codes on the world grid for every province touching the world.

    Cropland fields under :data:`CLCD_SMALL_FIELD_PX` pixels are grassland (4)
    everywhere; in Inner Mongolia a further 20 % of the cropland fields that have
    pixels there are grassland too.
    """
    crop = _is(world, "cropland")
    sizes = np.bincount(world.field_id.ravel())
    small = crop & (sizes[world.field_id] < CLCD_SMALL_FIELD_PX)
    base = _recode(world, TO_CLCD)
    base[small] = TO_CLCD["grassland"]
    albers = provinces.to_crs(world.grid.crs)
    touching = albers[albers.intersects(shapely.box(*world.grid.bounds))]
    out = {}
    for adcode, geometry in zip(touching["adcode"], touching.geometry, strict=True):
        codes = base
        if str(adcode) == INNER_MONGOLIA:
            rng = rng_for(world.spec.seed, "products_clcd")
            kept = crop & ~small
            candidates = _fields_of(world, kept & _mask(geometry, world.grid))
            n_ids = sizes.size
            biased = _pick(rng, candidates, CLCD_REGIONAL_OMISSION, n_ids)
            codes = base.copy()
            codes[kept & biased[world.field_id]] = TO_CLCD["grassland"]
        out[str(adcode)] = codes
    return out


def write_clcd(
    world: World, out_dir: str | Path, provinces: gpd.GeoDataFrame, year: int
) -> list[Path]:
    """Write the CLCD-like product: one file per province the world touches (with pixels
    of it), nodata 0 outside the province (``provinces``: polygons with ``adcode``)."""
    grid = clcd_grid(world)
    in_clcd_crs = provinces.to_crs(grid.crs).set_index(provinces["adcode"].astype(str))
    tags = _tags(
        year,
        CLCD_LEGEND,
        "truth, cropland fields under 150 px and 20 % of those in Inner Mongolia as grassland",
    )
    paths = []
    for adcode, codes in clcd_codes(world, provinces).items():
        inside = _mask(in_clcd_crs.geometry[adcode], grid)
        if not inside.any():
            continue
        data = _warp(codes, world, grid, Resampling.nearest, 0)
        data[~inside] = 0
        path = Path(out_dir) / CLCD_DIR / f"CLCD_v01_{year}_albert_{province_slug(adcode)}.tif"
        path.parent.mkdir(parents=True, exist_ok=True)
        paths.append(
            write_raster(
                path,
                data,
                transform=grid.transform,
                crs=grid.crs,
                nodata=0,
                units="class",
                tags=tags,
                colormap=CLCD_COLOURS,
            )
        )
        log.info("wrote %s (%d pixels in the province)", path.name, int(inside.sum()))
    return paths


def gfsad_previous_cropland(world: World) -> np.ndarray:
    """Cropland of another year than the run's (bool): 10 % of the cropland fields were
    not cropland, 5 % of the grassland fields were."""
    rng = rng_for(world.spec.seed, "products_gfsad")
    crop, grass = _is(world, "cropland"), _is(world, "grassland")
    n_ids = int(world.field_id.max()) + 1
    dropped = _pick(rng, _fields_of(world, crop), GFSAD_CROP_DROPPED, n_ids)
    added = _pick(rng, _fields_of(world, grass), GFSAD_GRASS_ADDED, n_ids)
    return (crop & ~dropped[world.field_id]) | (grass & added[world.field_id])


def gfsad_classes(crop_share: np.ndarray, water_share: np.ndarray) -> np.ndarray:
    """GFSAD's classes from the shares of cropland and water in each coarse pixel:
    cropland (2) where cropland is at least half, water (0) where water is the
    majority, else non-cropland (1); 255 where there are no shares (NaN)."""
    out = np.where(crop_share >= 0.5, 2, np.where(water_share > 0.5, 0, 1)).astype(np.uint8)
    out[np.isnan(crop_share)] = GFSAD_NODATA
    return out


def write_gfsad(world: World, out_dir: str | Path, year: int) -> Path:
    """Write the GFSAD-like edition of ``year``: cropland of another year than the run's
    (some fields changed) at 0.0025 degree."""
    grid = _geographic_grid(GFSAD_PER_DEGREE, *geographic_window(world, GFSAD_PER_DEGREE))
    previous = gfsad_previous_cropland(world).astype(np.float32)
    water = _is(world, "water").astype(np.float32)
    crop_share = _warp(previous, world, grid, Resampling.average, np.nan)
    water_share = _warp(water, world, grid, Resampling.average, np.nan)
    path = Path(out_dir) / gfsad_file(year)
    path.parent.mkdir(parents=True, exist_ok=True)
    tags = _tags(year, GFSAD_LEGEND, "truth of another year, averaged to 0.0025 degree")
    write_raster(
        path,
        gfsad_classes(crop_share, water_share),
        transform=grid.transform,
        crs=grid.crs,
        nodata=GFSAD_NODATA,
        units="class",
        tags=tags,
        colormap=GFSAD_COLOURS,
    )
    log.info("wrote %s (%d x %d px)", path.name, grid.width, grid.height)
    return path


def write_products(
    world: World, out_dir: str | Path, provinces: gpd.GeoDataFrame, editions: Mapping[str, int]
) -> dict[str, list[Path]]:
    """Write all three products into ``out_dir`` (folders ``worldcover``, ``clcd``,
    ``gfsad``), each the edition of its year in ``editions``; the files by product."""
    return {
        "worldcover": write_worldcover(world, out_dir, editions["worldcover"]),
        "clcd": write_clcd(world, out_dir, provinces, editions["clcd"]),
        "gfsad": [write_gfsad(world, out_dir, editions["gfsad"])],
    }


def _block_edge_px(tile_m: float, block_m: int) -> int:
    if block_m % FINE_RES or tile_m % block_m:
        raise ConfigError(
            f"integration.block_m = {block_m}: must be a multiple of {FINE_RES:g} m that "
            f"divides the tile edge ({tile_m:g} m), e.g. 1500"
        )
    return round(block_m / FINE_RES)


def reference_blocks(world: World, block_m: int) -> gpd.GeoDataFrame:
    """A random 60 % of every tile's blocks of ``block_m`` metres, with the truth's
    cropland fraction and a random half each for training and validation."""
    rng = rng_for(world.spec.seed, "reference_blocks")
    g = world.grid
    cropland = world.cropland()
    rows = []
    for tile in world.spec.tiles:
        x0, _, x1, y1 = tile.bounds
        k = _block_edge_px(x1 - x0, block_m)
        n = round((x1 - x0) / block_m)
        r0, c0 = round((g.y_max - y1) / g.res), round((x0 - g.x_min) / g.res)
        window = cropland[r0 : r0 + n * k, c0 : c0 + n * k].astype(np.float64)
        fractions = window.reshape(n, k, n, k).mean(axis=(1, 3))
        chosen = np.sort(rng.choice(n * n, size=round(REFERENCE_SHARE * n * n), replace=False))
        for r, c in zip(*np.divmod(chosen, n), strict=True):
            bx, by = x0 + c * block_m, y1 - r * block_m
            rows.append(
                (
                    f"{tile.id}_r{r:02d}c{c:02d}",
                    tile.id,
                    float(fractions[r, c]),
                    shapely.box(bx, by - block_m, bx + block_m, by),
                )
            )
    split = np.array(["train"] * (len(rows) - len(rows) // 2) + ["validation"] * (len(rows) // 2))
    block_id, tile_ids, fraction, geometry = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {
            "block_id": list(block_id),
            "tile": list(tile_ids),
            "cropland_fraction": np.asarray(fraction, dtype=np.float64),
            "split": rng.permutation(split),
        },
        geometry=list(geometry),
        crs=g.crs,
    )


def write_reference_blocks(world: World, path: str | Path, block_m: int) -> Path:
    """Write :func:`reference_blocks` as the GeoPackage layer ``blocks``, atomically."""
    blocks = reference_blocks(world, block_m)
    log.info("%d reference blocks of %d m", len(blocks), block_m)
    return write_gpkg(blocks, path, "blocks")
