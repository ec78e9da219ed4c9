"""Landsat-8-like Collection 2 Level-2 scenes of the demo world.

Each scene is written the way USGS distributes it: one directory per product id
(``LC08_L2SP_124031_20210105_20210115_02_T1``) with single-band uint16 GeoTIFFs
``*_SR_B2.TIF`` (blue), ``*_SR_B3.TIF`` (green), ``*_SR_B4.TIF`` (red), ``*_SR_B5.TIF``
(NIR), ``*_SR_B6.TIF`` (SWIR1), ``*_SR_B7.TIF`` (SWIR2), ``*_ST_B10.TIF`` (surface
temperature), ``*_QA_PIXEL.TIF`` and ``*_QA_RADSAT.TIF``,
in the scene's own UTM zone, and the metadata file ``*_MTL.json`` with the
documented Collection 2 scaling (:mod:`agrifactory.io.landsat_mtl`). The atmosphere is made to test the quality stage:
clouds whose thin edges the QA mask misses (their cover drawn from the world's
cloud mixture of the scene's month, :meth:`World.cloud_mixture`), shadows it partly misses, snow in
winter, occasional regional haze nobody flags, a data gap and a few saturated
pixels. Green and SWIR carry the crops' signatures beyond NDVI
(:mod:`agrifactory.synthetic.spectra`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from rasterio.warp import reproject
from scipy import ndimage

from agrifactory import legend
from agrifactory.grid import FINE_RES, PixelGrid
from agrifactory.io import landsat as l8
from agrifactory.io import landsat_mtl
from agrifactory.io.raster import write_raster
from agrifactory.synthetic import spectra
from agrifactory.synthetic.world import World, rng_for, smooth_noise

#: Bands written per scene (file suffix).
SCENE_FILES = (
    "SR_B2",
    "SR_B3",
    "SR_B4",
    "SR_B5",
    "SR_B6",
    "SR_B7",
    "ST_B10",
    "QA_PIXEL",
    "QA_RADSAT",
)
#: The spectral name of each reflectance or temperature file (Landsat 8/9 OLI/TIRS).
SCENE_BAND_NAMES = {
    l8.band_suffix("oli", n): n
    for n in ("blue", "green", "red", "nir", "swir1", "swir2", "thermal")
}
#: The metadata file written beside the band files (``<product id>_MTL.json``).
SCENE_MTL = landsat_mtl.MTL_SUFFIXES[0]

CLOUD_REFLECTANCE = {"blue": 0.55, "red": 0.50, "nir": 0.50, **spectra.CLOUD}
SNOW_REFLECTANCE = {"blue": 0.78, "red": 0.74, "nir": 0.66, **spectra.SNOW}


@dataclass(frozen=True)
class ScenePlan:
    """One planned acquisition."""

    product_id: str
    date: dt.date


def plan_scenes(
    year: int, first_date: dt.date, revisit_days: int, margin_days: int, path_row: tuple[int, int]
) -> list[ScenePlan]:
    """Acquisitions every ``revisit_days`` that fall within the year plus ``margin_days``."""
    start = dt.date(year, 1, 1) - dt.timedelta(days=margin_days)
    end = dt.date(year, 12, 31) + dt.timedelta(days=margin_days)
    step = dt.timedelta(days=revisit_days)
    date = first_date
    while date - step >= start:
        date -= step
    plans = []
    while date <= end:
        if date >= start:
            processed = date + dt.timedelta(days=10)
            pid = f"LC08_L2SP_{path_row[0]:03d}{path_row[1]:03d}_{date:%Y%m%d}_{processed:%Y%m%d}_02_T1"
            plans.append(ScenePlan(pid, date))
        date += step
    return plans


def utm_crs(lon: float, lat: float) -> CRS:
    """The WGS84 UTM zone CRS of a point."""
    zone = int((lon + 180.0) // 6.0) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def scene_grid(world_grid: PixelGrid, crs: CRS) -> tuple[CRS, Affine, int, int]:
    """The largest 30 m grid in ``crs`` inside the (rotated) world extent.

    Every scene pixel then has truth under it; the world's margin keeps the tiles
    covered despite the rotation between the Albers and UTM axes.
    """
    x_min, y_min, x_max, y_max = world_grid.bounds
    to_utm = Transformer.from_crs(world_grid.crs, crs, always_xy=True)
    (llx, ulx, lrx, urx), (lly, uly, lry, ury) = to_utm.transform(
        [x_min, x_min, x_max, x_max], [y_min, y_max, y_min, y_max]
    )
    x0 = np.ceil(max(llx, ulx) / FINE_RES) * FINE_RES
    x1 = np.floor(min(lrx, urx) / FINE_RES) * FINE_RES
    y0 = np.ceil(max(lly, lry) / FINE_RES) * FINE_RES
    y1 = np.floor(min(uly, ury) / FINE_RES) * FINE_RES
    width, height = round((x1 - x0) / FINE_RES), round((y1 - y0) / FINE_RES)
    return crs, Affine(FINE_RES, 0.0, x0, 0.0, -FINE_RES, y1), width, height


def _clouds(
    rng: np.random.Generator, shape: tuple[int, int], mixture: tuple[float, ...]
) -> np.ndarray:
    """Cloud optical thickness in [0, 1] with a cover drawn from a realistic ``mixture``
    (probabilities of a clear, partly, heavy and overcast scene)."""
    kind = rng.choice(["clear", "partly", "heavy", "overcast"], p=list(mixture))
    cover = {
        "clear": rng.uniform(0.0, 0.01),
        "partly": rng.uniform(0.05, 0.35),
        "heavy": rng.uniform(0.4, 0.85),
        "overcast": rng.uniform(0.97, 1.0),
    }[kind]
    if cover < 0.002:
        return np.zeros(shape, np.float32)
    field = smooth_noise(rng, shape, sigma=rng.uniform(12, 30))
    thr = np.quantile(field, 1.0 - cover)
    return np.clip((field - thr) / 0.8, 0.0, 1.0).astype(np.float32)


def render_scene(world: World, date: dt.date, seed_key: str) -> dict[str, np.ndarray]:
    """Top-of-canopy bands of one acquisition on the world grid.

    Returns float32 ``blue``, ``green``, ``red``, ``nir``, ``swir1``, ``swir2``
    (reflectance, NaN = fill), ``thermal`` (K) and uint16 ``qa_pixel``, ``qa_radsat``.
    Green and SWIR draw from their own streams: the other bands do not depend on them.
    """
    rng = rng_for(world.spec.seed, "landsat", seed_key)
    shape = world.grid.shape
    ndvi = np.clip(world.ndvi(date) + rng.normal(0, 0.01, shape).astype(np.float32), -0.5, 0.95)
    b = world.brightness
    red = b * (1.0 - ndvi) / 2.0
    nir = b * (1.0 + ndvi) / 2.0
    blue = 0.62 * red + 0.025
    doy = world.doy(date)
    thermal = 268.0 + 24.0 * np.sin(2 * np.pi * (doy - 110) / 365.0) - 6.0 * np.clip(ndvi, 0, 1)
    water = world.landcover == legend.code_of(legend.LANDCOVER, "water")
    thermal = np.where(water, thermal - 3.0, thermal).astype(np.float32)

    extra = spectra.extra_bands(world, date, ndvi, red, nir, seed_key)
    bands = {"blue": blue, "red": red, "nir": nir, **extra}
    snow = _snow(rng, doy, water, bands, thermal)
    tau, cloud_flag, dilated, shadow_flag = _clouds_and_shadows(
        rng, bands, world.cloud_mixture(date)
    )
    thermal = thermal * (1.0 - tau) + (thermal - 30.0) * tau

    # Regional haze that no QA bit records (about one scene in ten).
    if rng.random() < 0.1:
        haze = 0.5 + 0.5 * (smooth_noise(rng, shape, sigma=80) > -0.3)
        blue += 0.07 * haze
        red += 0.045 * haze
        nir += 0.02 * haze
        for name, arr in extra.items():
            arr += spectra.HAZE[name] * haze

    # A data gap (fill) in about one scene in twelve: a stripe of missing lines.
    fill = np.zeros(shape, bool)
    if rng.random() < 1.0 / 12.0:
        r0 = int(rng.integers(0, shape[0] - shape[0] // 8))
        fill[r0 : r0 + shape[0] // 8, :] = True

    radsat = _saturation(rng, world, doy, blue, red)
    extra["green"][l8.bit(radsat, 2)] = 1.0  # OLI B3's saturation bit

    for arr in (blue, red, nir, *extra.values()):
        arr[fill] = np.nan
    thermal[fill] = np.nan
    qa = l8.encode_qa_pixel(
        fill=fill,
        cloud=cloud_flag & ~fill,
        shadow=shadow_flag & ~fill,
        snow=snow & ~fill & (tau < 0.3),
        water=water & ~fill,
        dilated_cloud=dilated & ~fill,
    )
    return {
        "blue": blue,
        "red": red,
        "nir": nir,
        **extra,
        "thermal": thermal.astype(np.float32),
        "qa_pixel": qa,
        "qa_radsat": radsat,
    }


def _snow(
    rng: np.random.Generator,
    doy: int,
    water: np.ndarray,
    bands: dict[str, np.ndarray],
    thermal: np.ndarray,
) -> np.ndarray:
    """Snow in winter: patchy cover (flagged in QA), written into the bands; its mask."""
    shape = water.shape
    snow = np.zeros(shape, bool)
    if doy <= 80 or doy >= 320:
        field = smooth_noise(rng, shape, sigma=40)
        snow = (field > np.quantile(field, 1.0 - rng.uniform(0.2, 0.9))) & ~water
        for name, arr in bands.items():
            arr[snow] = SNOW_REFLECTANCE[name]
        thermal[snow] = np.minimum(thermal[snow], 268.0)
    return snow


def _clouds_and_shadows(
    rng: np.random.Generator, bands: dict[str, np.ndarray], mixture: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Clouds (thick cores flagged, thin edges not: the mask misses them) and their
    shadows (the flagged clouds displaced along the sun azimuth; 85% detected), written
    into the bands; returns the optical depth and the cloud, dilated and shadow flags."""
    shape = bands["red"].shape
    tau = _clouds(rng, shape, mixture)
    cloud_flag = tau > 0.3
    dilated = ndimage.binary_dilation(cloud_flag, iterations=3) & ~cloud_flag
    dy, dx = int(rng.integers(8, 20)), int(rng.integers(8, 20))
    shadow = np.zeros(shape, bool)
    shadow[dy:, dx:] = cloud_flag[:-dy, :-dx]
    shadow &= tau < 0.05
    shadow_flag = shadow & (rng.random(shape) < 0.85)
    for name, arr in bands.items():
        arr[shadow] *= 0.35
        arr[:] = arr * (1.0 - tau) + CLOUD_REFLECTANCE[name] * tau
    return tau, cloud_flag, dilated, shadow_flag


def _saturation(
    rng: np.random.Generator, world: World, doy: int, blue: np.ndarray, red: np.ndarray
) -> np.ndarray:
    """Saturation over bright built-up surfaces in summer: the QA_RADSAT band."""
    radsat = np.zeros(blue.shape, np.uint16)
    built = world.landcover == legend.code_of(legend.LANDCOVER, "built_up")
    if 150 <= doy <= 250:
        sat = built & (rng.random(blue.shape) < 0.3)
        for n in (2, 3, 4):  # OLI B2..B4
            radsat |= sat.astype(np.uint16) << (n - 1)
        for arr in (blue, red):
            arr[sat] = 1.0
    return radsat


def write_scene(out_dir: Path, plan: ScenePlan, world: World) -> list[Path]:
    """Render one acquisition and write its Collection 2 files in UTM (bands, then the MTL);
    returns the paths."""
    pid = l8.parse_product_id(plan.product_id)
    bands = render_scene(world, plan.date, plan.product_id)
    lon, lat = Transformer.from_crs(world.grid.crs, "EPSG:4326", always_xy=True).transform(
        world.grid.x_min + world.grid.width * 15, world.grid.y_max - world.grid.height * 15
    )
    crs, transform, width, height = scene_grid(world.grid, utm_crs(lon, lat))
    scene_dir = Path(out_dir) / plan.product_id
    written = []
    for suffix in SCENE_FILES:
        if suffix.startswith("QA"):
            src = bands["qa_pixel" if suffix == "QA_PIXEL" else "qa_radsat"]
            dst = np.full((height, width), 1 if suffix == "QA_PIXEL" else 0, np.uint16)
            resampling, nodata = Resampling.nearest, (1 if suffix == "QA_PIXEL" else None)
        else:
            src = bands[SCENE_BAND_NAMES[suffix]]
            dst = np.full((height, width), np.nan, np.float32)
            resampling, nodata = Resampling.bilinear, 0
        reproject(
            source=src,
            destination=dst,
            src_transform=world.grid.transform,
            src_crs=world.grid.crs,
            dst_transform=transform,
            dst_crs=crs,
            resampling=resampling,
            src_nodata=np.nan if dst.dtype == np.float32 else None,
            dst_nodata=np.nan if dst.dtype == np.float32 else None,
        )
        if suffix.startswith("SR"):
            dst = l8.reflectance_to_dn(dst)
        elif suffix == "ST_B10":
            dst = l8.temperature_to_dn(dst)
        path = l8.band_path(scene_dir, pid, suffix)
        write_raster(path, dst, transform=transform, crs=crs, nodata=nodata, units="DN")
        written.append(path)
    written.append(landsat_mtl.write_mtl_json(scene_dir, pid, SCENE_FILES))
    return written
