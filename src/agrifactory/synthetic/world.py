"""The demo world's truth: landscape, fields, crops, irrigation and NDVI phenology.

The world lies on the factory's own 30 m Albers lattice and covers the demo tiles
plus a margin, so a tile window of any truth raster is an exact array slice. All
randomness comes from one seed.

Phenology follows a double-logistic curve per field::

    NDVI(t) = vmin + (vmax - vmin) * (1 / (1 + exp(-a1 (t - t1))) - 1 / (1 + exp(-a2 (t - t2))))

with crop parameters like the Chahannur basin's: irrigated long-season crops
(potato, sugar beet, sunflower) peak around DOY 211-237; vegetables rise fast,
peak near DOY 200 and drop; rainfed crops (oat, wheat, flax) rise slowly and
peak near DOY 246 below NDVI 0.5. Fields in the eastern sub-region develop
``phenology_shift_days`` later, for cross-region transfer tests.

Years. The base year (``WorldSpec.base_year``) is the world as it always was. Any
other year keeps the land (cover, fields, irrigation) and differs from the base
year as a real season does (:func:`year_effects`, each from its own random stream
``rng_for(seed, "year", year, ...)``, so the base year's draws are untouched):

* crop rotation: a share ``rotation_share`` of the fields takes another crop of its
  irrigation group (irrigated fields an irrigated crop, rainfed fields a rainfed one),
  picked in proportion to the year's crop shares, which are the base shares
  :data:`CROP_SHARES` re-weighted by a Dirichlet draw (concentration
  ``crop_share_concentration`` times the base shares);
* green-up: each sub-region's crops and vegetation (t1 and t2 of every non-water
  pixel) move by a whole number of days whose magnitude is drawn uniformly in
  ``greenup_shift_days`` and whose sign is drawn per region (e.g. west -10, east +13);
* clouds: a wet season, ``cloud_season.half_width_months`` around a centre month drawn
  in ``cloud_season.centre_months``, with more heavy and overcast scenes in it and more
  clear ones outside it (:func:`cloud_mixture`; the base year keeps one mixture all year).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from agrifactory import legend
from agrifactory.grid import FINE_RES, PixelGrid, Tile

if TYPE_CHECKING:
    from agrifactory.synthetic.spectra import SpectralTraits

#: Double-logistic parameters per class: vmin, vmax, t1, a1, t2, a2 (t in DOY).
PHENOLOGY = {
    "potato": (0.14, 0.80, 168.0, 0.10, 262.0, 0.10),
    "sugar_beet": (0.14, 0.82, 170.0, 0.09, 278.0, 0.09),
    "sunflower": (0.14, 0.76, 175.0, 0.10, 258.0, 0.11),
    "vegetables": (0.14, 0.78, 168.0, 0.25, 226.0, 0.16),
    "oat": (0.14, 0.46, 205.0, 0.055, 282.0, 0.09),
    "wheat": (0.14, 0.48, 198.0, 0.06, 280.0, 0.10),
    "flax": (0.14, 0.43, 208.0, 0.05, 284.0, 0.09),
    "grassland": (0.12, 0.40, 160.0, 0.06, 272.0, 0.06),
    "forest": (0.32, 0.82, 132.0, 0.08, 290.0, 0.08),
    "water": (-0.22, -0.18, 150.0, 0.05, 250.0, 0.05),
    "built_up": (0.08, 0.14, 150.0, 0.05, 270.0, 0.05),
}

#: Brightness (red + NIR reflectance) per land-cover class.
BRIGHTNESS = {"cropland": 0.40, "grassland": 0.38, "forest": 0.30, "water": 0.07, "built_up": 0.42}

#: Cloud-cover mixture of every scene of the base year: clear, partly, heavy, overcast.
BASE_CLOUD_MIXTURE = (0.45, 0.33, 0.14, 0.08)

#: The demo's sub-regions by their code in :attr:`World.region`.
REGIONS = ("west", "east")

#: Share of each crop within cropland.
CROP_SHARES = {
    "potato": 0.22,
    "sugar_beet": 0.08,
    "sunflower": 0.08,
    "vegetables": 0.10,
    "oat": 0.20,
    "wheat": 0.18,
    "flax": 0.14,
}


@dataclass(frozen=True)
class CloudSeason:
    """The cloud season of the years other than the base year.

    Months within ``half_width_months`` of the year's centre month (drawn uniformly
    in ``centre_months``, inclusive) draw a scene's cloud cover from ``wet``, the
    others from ``dry`` (probabilities of clear, partly, heavy, overcast).
    """

    centre_months: tuple[int, int] = (6, 8)
    half_width_months: int = 1
    wet: tuple[float, float, float, float] = (0.20, 0.32, 0.28, 0.20)
    dry: tuple[float, float, float, float] = (0.60, 0.30, 0.07, 0.03)


@dataclass(frozen=True)
class WorldSpec:
    """What the demo world looks like (all fields come from the config's ``demo`` section).

    ``year`` dates the phenology (NDVI) and, in a year other than ``base_year``, selects
    that year's crops, green-up and clouds (:func:`year_effects`). Land cover, fields and
    irrigation never depend on it; ``year=None`` is the base year's land, so files made
    from the base year's land alone are made with ``year=None``.
    """

    tiles: tuple[Tile, ...]
    year: int | None
    seed: int
    margin_km: float = 5.1
    phenology_shift_days: float = 12.0
    min_field_px: int = 6
    max_field_px: int = 24
    base_year: int = 2021
    greenup_shift_days: tuple[int, int] = (8, 15)
    rotation_share: float = 0.4
    crop_share_concentration: float = 40.0
    cloud_season: CloudSeason = CloudSeason()

    def is_base_year(self) -> bool:
        """True for the base year and for ``year=None``: the world as it always was."""
        return self.year is None or self.year == self.base_year

    def grid(self) -> PixelGrid:
        """The 30 m world grid: the tiles' union plus the margin, on the tile lattice."""
        xs0, ys0, xs1, ys1 = zip(*(t.bounds for t in self.tiles), strict=True)
        m = self.margin_km * 1000.0
        x_min, y_max = min(xs0) - m, max(ys1) + m
        width = round((max(xs1) + m - x_min) / FINE_RES)
        height = round((y_max - (min(ys0) - m)) / FINE_RES)
        return PixelGrid(x_min=x_min, y_max=y_max, res=FINE_RES, width=width, height=height)

    def east_boundary_x(self) -> float:
        """Albers x that splits the world into the western and eastern sub-regions."""
        xs0, _, xs1, _ = zip(*(t.bounds for t in self.tiles), strict=True)
        return (min(xs0) + max(xs1)) / 2.0


def rng_for(seed: int, *parts: int | str) -> np.random.Generator:
    """An independent generator for one component of the world (stable across versions)."""
    key = [seed] + [
        p if isinstance(p, int) else sum(ord(c) * 31**i for i, c in enumerate(p)) % 2**31
        for p in parts
    ]
    return np.random.default_rng(key)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to zero mean and unit variance."""
    f = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return ((f - f.mean()) / (f.std() + 1e-12)).astype(np.float32)


def split_fields(
    rng: np.random.Generator, shape: tuple[int, int], min_px: int, max_px: int
) -> np.ndarray:
    """Partition a grid into rectangular fields by recursive splitting; returns field ids."""
    ids = np.zeros(shape, dtype=np.int32)
    stack = [(0, shape[0], 0, shape[1])]
    next_id = 1
    while stack:
        r0, r1, c0, c1 = stack.pop()
        h, w = r1 - r0, c1 - c0
        if max(h, w) <= max_px or min(h, w) < 2 * min_px and max(h, w) < 2 * min_px:
            ids[r0:r1, c0:c1] = next_id
            next_id += 1
            continue
        if h >= w:
            cut = r0 + int(
                rng.integers(max(min_px, int(h * 0.3)), min(h - min_px, int(h * 0.7)) + 1)
            )
            stack += [(r0, cut, c0, c1), (cut, r1, c0, c1)]
        else:
            cut = c0 + int(
                rng.integers(max(min_px, int(w * 0.3)), min(w - min_px, int(w * 0.7)) + 1)
            )
            stack += [(r0, r1, c0, cut), (r0, r1, cut, c1)]
    return ids


@dataclass(frozen=True)
class YearEffects:
    """How the world's year differs from the base year (nothing in the base year)."""

    greenup_shift: dict[str, int]
    """Days the green-up of each sub-region (``west``, ``east``) moves (0 in the base year)."""
    crop_shares: dict[str, float]
    """The year's crop shares that rotated fields pick from (:data:`CROP_SHARES` in the
    base year)."""
    wet_month: int | None
    """Centre month of the year's wet season (None in the base year: one cloud mixture)."""


def year_effects(spec: WorldSpec) -> YearEffects:
    """The year's green-up shifts, crop shares and wet-season month, each drawn from its
    own stream ``rng_for(seed, "year", year, ...)``; none in the base year."""
    if spec.is_base_year():
        return YearEffects(dict.fromkeys(REGIONS, 0), dict(CROP_SHARES), None)
    lo, hi = spec.greenup_shift_days
    rng = rng_for(spec.seed, "year", spec.year, "greenup")
    magnitude = rng.integers(lo, hi + 1, size=len(REGIONS))
    sign = rng.choice([-1, 1], size=len(REGIONS))
    base = np.array(list(CROP_SHARES.values()))
    shares = rng_for(spec.seed, "year", spec.year, "shares").dirichlet(
        spec.crop_share_concentration * base
    )
    c0, c1 = spec.cloud_season.centre_months
    wet = int(rng_for(spec.seed, "year", spec.year, "clouds").integers(c0, c1 + 1))
    return YearEffects(
        greenup_shift={r: int(m * s) for r, m, s in zip(REGIONS, magnitude, sign, strict=True)},
        crop_shares={c: float(v) for c, v in zip(CROP_SHARES, shares, strict=True)},
        wet_month=wet,
    )


def cloud_mixture(spec: WorldSpec, wet_month: int | None, month: int) -> tuple[float, ...]:
    """Probabilities of a clear, partly, heavy and overcast scene in ``month``: the base
    mixture all year when ``wet_month`` is None, else the wet or dry one of
    ``spec.cloud_season`` (months count circularly: December is next to January)."""
    if wet_month is None:
        return BASE_CLOUD_MIXTURE
    season = spec.cloud_season
    gap = abs(month - wet_month) % 12
    return season.wet if min(gap, 12 - gap) <= season.half_width_months else season.dry


@dataclass
class World:
    """The truth of the demo world on its 30 m grid."""

    spec: WorldSpec
    grid: PixelGrid
    landcover: np.ndarray  # uint8, legend.LANDCOVER
    croptype: np.ndarray  # uint8, legend.CROPTYPE (0 outside cropland)
    irrigation: np.ndarray  # uint8, legend.IRRIGATION (0 outside cropland)
    field_id: np.ndarray  # int32
    elevation: np.ndarray  # float32 metres
    region: np.ndarray  # uint8: 0 west, 1 east
    params: dict[str, np.ndarray] = field(repr=False)  # per-pixel phenology parameters
    brightness: np.ndarray = field(repr=False)
    effects: YearEffects = field(repr=False)

    @property
    def greenup_shift(self) -> dict[str, int]:
        """Days the green-up of each sub-region moves in this year against the base year."""
        return self.effects.greenup_shift

    def cloud_mixture(self, date: dt.date) -> tuple[float, ...]:
        """Probabilities of a clear, partly, heavy and overcast scene on ``date``."""
        return cloud_mixture(self.spec, self.effects.wet_month, date.month)

    def doy(self, date: dt.date) -> float:
        """Day of the world's year (may be <= 0 or > 365 for dates in the margin years)."""
        if self.spec.year is None:
            raise ValueError(
                "the demo world was built without a year (WorldSpec.year is None); "
                "its NDVI needs one: build it with the run's year"
            )
        return float((date - dt.date(self.spec.year, 1, 1)).days + 1)

    def ndvi(self, date: dt.date) -> np.ndarray:
        """True clear-sky NDVI of every pixel on ``date`` (float32)."""
        t = self.doy(date)
        p = self.params
        rise = 1.0 / (1.0 + np.exp(-p["a1"] * (t - p["t1"])))
        fall = 1.0 / (1.0 + np.exp(-p["a2"] * (t - p["t2"])))
        return (p["vmin"] + (p["vmax"] - p["vmin"]) * (rise - fall) + p["texture"]).astype(
            np.float32
        )

    @cached_property
    def spectra(self) -> SpectralTraits:
        """Per-pixel spectral traits beyond NDVI (:mod:`agrifactory.synthetic.spectra`),
        built on first use from their own random stream."""
        from agrifactory.synthetic.spectra import spectral_traits

        return spectral_traits(self)

    def cropland(self) -> np.ndarray:
        """1 where the truth is cropland, else 0 (uint8)."""
        return (self.landcover == legend.code_of(legend.LANDCOVER, "cropland")).astype(np.uint8)


def _landscape(
    spec: WorldSpec, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Land-cover zones, elevation (m) and an irrigation propensity in [0, 1]."""
    rng = rng_for(spec.seed, "landscape")
    relief = smooth_noise(rng, shape, sigma=70)
    hills = smooth_noise(rng, shape, sigma=25)
    elevation = (1400.0 + 60.0 * relief + 25.0 * hills).astype(np.float32)
    grass_noise = smooth_noise(rng, shape, sigma=20)
    lc = np.full(shape, legend.code_of(legend.LANDCOVER, "cropland"), dtype=np.uint8)
    lc[(grass_noise > 0.9) | (elevation > np.quantile(elevation, 0.80))] = legend.code_of(
        legend.LANDCOVER, "grassland"
    )
    lc[elevation > np.quantile(elevation, 0.94)] = legend.code_of(legend.LANDCOVER, "forest")
    lc[elevation < np.quantile(elevation, 0.035)] = legend.code_of(legend.LANDCOVER, "water")
    built = legend.code_of(legend.LANDCOVER, "built_up")
    n_villages = max(4, shape[0] * shape[1] // 90_000)
    for _ in range(n_villages):
        r, c = rng.integers(0, shape[0] - 12), rng.integers(0, shape[1] - 12)
        size = int(rng.integers(5, 12))
        patch = lc[r : r + size, c : c + size]
        patch[patch != legend.code_of(legend.LANDCOVER, "water")] = built
    low = 1.0 - (elevation - elevation.min()) / (np.ptp(elevation) + 1e-9)
    propensity = np.clip(0.15 + 0.85 * low**1.5 + 0.1 * grass_noise, 0.0, 1.0)
    return lc, elevation, propensity


def build_world(spec: WorldSpec) -> World:
    """Generate the demo world's truth deterministically from ``spec.seed``."""
    grid = spec.grid()
    shape = grid.shape
    zones, elevation, propensity = _landscape(spec, shape)
    rng = rng_for(spec.seed, "fields")
    field_id = split_fields(rng, shape, spec.min_field_px, spec.max_field_px)
    n_fields = int(field_id.max())
    counts = np.bincount(field_id.ravel(), minlength=n_fields + 1)
    landcover = _field_landcover(zones, field_id, counts)
    field_crop, is_irrigated = _field_crops(rng, field_id, propensity, counts)
    effects = year_effects(spec)
    if not spec.is_base_year():
        field_crop = _rotate_crops(
            rng_for(spec.seed, "year", spec.year, "rotation"),
            field_crop,
            spec.rotation_share,
            effects.crop_shares,
        )
    croptype, irrigation = _crop_rasters(landcover, field_id, field_crop, is_irrigated)
    x, _ = grid.pixel_centres()
    region = np.broadcast_to((x >= spec.east_boundary_x())[np.newaxis, :], shape).astype(np.uint8)
    jitter = rng_for(spec.seed, "phenology")
    params = _phenology_params(spec, jitter, landcover, croptype, field_id, region, effects)
    brightness = np.zeros(shape, dtype=np.float32)
    for code, name in legend.LANDCOVER.items():
        brightness[landcover == code] = BRIGHTNESS[name]
    brightness *= 1.0 + 0.05 * smooth_noise(jitter, shape, sigma=3)

    return World(
        spec=spec,
        grid=grid,
        landcover=landcover,
        croptype=croptype,
        irrigation=irrigation,
        field_id=field_id,
        elevation=elevation,
        region=region,
        params=params,
        brightness=brightness.astype(np.float32),
        effects=effects,
    )


def _field_landcover(zones: np.ndarray, field_id: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Land cover: each field takes the zone at its centre for the cropland / grassland
    choice; water, forest and built-up stay pixel-wise."""
    n = len(counts)
    rows, cols = np.indices(zones.shape)
    cr = (np.bincount(field_id.ravel(), rows.ravel(), minlength=n) / np.maximum(counts, 1)).astype(
        int
    )
    cc = (np.bincount(field_id.ravel(), cols.ravel(), minlength=n) / np.maximum(counts, 1)).astype(
        int
    )
    field_zone = zones[cr, cc]
    crop_code = legend.code_of(legend.LANDCOVER, "cropland")
    grass_code = legend.code_of(legend.LANDCOVER, "grassland")
    landcover = zones.copy()
    agri = (zones == crop_code) | (zones == grass_code)
    landcover[agri] = np.where(field_zone[field_id[agri]] == crop_code, crop_code, grass_code)
    return landcover


def _field_crops(
    rng: np.random.Generator, field_id: np.ndarray, propensity: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The base year's crop of every field (index into :data:`CROP_SHARES`) and whether it
    is irrigated: irrigated crops where the field-mean irrigation propensity is high."""
    n = len(counts)
    names = list(CROP_SHARES)
    shares = np.array([CROP_SHARES[c] for c in names])
    field_prop = np.bincount(field_id.ravel(), propensity.ravel(), minlength=n) / np.maximum(
        counts, 1
    )
    irrigated_share = sum(CROP_SHARES[c] for c in legend.IRRIGATED_CROPS)
    is_irrigated = rng.random(n) < np.clip(field_prop * 2 * irrigated_share, 0.02, 0.98)
    irr_idx = [names.index(c) for c in legend.IRRIGATED_CROPS]
    rf_idx = [names.index(c) for c in legend.RAINFED_CROPS]
    pick_irr = rng.choice(irr_idx, size=n, p=shares[irr_idx] / shares[irr_idx].sum())
    pick_rf = rng.choice(rf_idx, size=n, p=shares[rf_idx] / shares[rf_idx].sum())
    return np.where(is_irrigated, pick_irr, pick_rf), is_irrigated


def _rotate_crops(
    rng: np.random.Generator,
    field_crop: np.ndarray,
    rotation_share: float,
    crop_shares: dict[str, float],
) -> np.ndarray:
    """Another year's field crops: a share ``rotation_share`` of the fields takes another
    crop of its group (irrigated or rainfed), in proportion to the year's ``crop_shares``."""
    names = list(CROP_SHARES)
    shares = np.array([crop_shares[c] for c in names])
    rotate = rng.random(len(field_crop)) < rotation_share
    out = field_crop.copy()
    for group in (legend.IRRIGATED_CROPS, legend.RAINFED_CROPS):
        idx = [names.index(c) for c in group]
        for current in idx:
            sel = rotate & (field_crop == current)
            others = [i for i in idx if i != current]
            p = shares[others] / shares[others].sum()
            out[sel] = rng.choice(others, size=int(sel.sum()), p=p)
    return out


def _crop_rasters(
    landcover: np.ndarray, field_id: np.ndarray, field_crop: np.ndarray, is_irrigated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Crop type and irrigation (1 irrigated, 2 rainfed) per cropland pixel (0 elsewhere)."""
    names = list(CROP_SHARES)
    crop_codes = np.array([legend.code_of(legend.CROPTYPE, c) for c in names], dtype=np.uint8)
    is_crop = landcover == legend.code_of(legend.LANDCOVER, "cropland")
    croptype = np.where(is_crop, crop_codes[field_crop[field_id]], 0).astype(np.uint8)
    irrigation = np.where(is_crop, np.where(is_irrigated[field_id], 1, 2), 0).astype(np.uint8)
    return croptype, irrigation


def pixel_classes(landcover: np.ndarray, croptype: np.ndarray) -> np.ndarray:
    """The class of every pixel (object array): its crop in cropland, else its land cover."""
    is_crop = landcover == legend.code_of(legend.LANDCOVER, "cropland")
    class_name = np.empty(landcover.shape, dtype=object)
    lc_names = np.array(
        [None] + [legend.LANDCOVER[k] for k in sorted(legend.LANDCOVER)], dtype=object
    )
    class_name[:] = lc_names[landcover]
    ct_names = np.array([legend.CROPTYPE[k] for k in sorted(legend.CROPTYPE)], dtype=object)
    class_name[is_crop] = ct_names[croptype[is_crop]]
    return class_name


def _phenology_params(
    spec: WorldSpec,
    jitter: np.random.Generator,
    landcover: np.ndarray,
    croptype: np.ndarray,
    field_id: np.ndarray,
    region: np.ndarray,
    effects: YearEffects,
) -> dict[str, np.ndarray]:
    """Per-pixel phenology: class curve + per-field jitter + the eastern shift + the
    year's green-up shift of each sub-region (0 in the base year)."""
    shape = landcover.shape
    n_fields = int(field_id.max())
    class_name = pixel_classes(landcover, croptype)
    keys = ("vmin", "vmax", "t1", "a1", "t2", "a2")
    params = {k: np.zeros(shape, dtype=np.float32) for k in keys}
    for name, values in PHENOLOGY.items():
        sel = class_name == name
        for k, v in zip(keys, values, strict=True):
            params[k][sel] = v
    sow = jitter.normal(0.0, 5.0, n_fields + 1).astype(np.float32)[field_id]
    peak = jitter.normal(0.0, 0.03, n_fields + 1).astype(np.float32)[field_id]
    seasonal = landcover != legend.code_of(legend.LANDCOVER, "water")
    west, east = (effects.greenup_shift[r] for r in REGIONS)
    shift = np.where(region == 1, spec.phenology_shift_days + east, 0.0 + west).astype(np.float32)
    params["t1"] += np.where(seasonal, sow + shift, 0.0)
    params["t2"] += np.where(seasonal, sow + shift, 0.0)
    params["vmax"] += np.where(seasonal, peak, 0.0)
    params["texture"] = (0.015 * jitter.standard_normal(shape)).astype(np.float32)
    return params
