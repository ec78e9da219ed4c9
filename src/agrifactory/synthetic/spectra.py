"""Spectral signatures of the demo world beyond NDVI: green, SWIR1 and SWIR2.

The blue, red and NIR bands of a scene come from NDVI and brightness alone
(:func:`agrifactory.synthetic.landsat.render_scene`) and stay as they were; the new
bands carry what real crops differ in besides their NDVI curve:

* **Canopy water** (SWIR relative to NIR): a green canopy reflects in SWIR1 a
  share of its NIR that grows as its leaf water falls; dry-land cereals hold less
  water than irrigated broadleaf crops (:attr:`Signature.swir1_ratio`).
* **Dry-down**: cereals and flax dry before their NDVI falls (grain filling, then
  ripe straw, which is bright in SWIR); wheat ripens first, then flax, then oat
  (:attr:`Signature.dry_lag`, days before the NDVI decline ``t2``).
* **Flowering**: sunflower's yellow heads brighten green, flax's blue flowers
  darken it, for about two weeks at full bloom (:attr:`Signature.flower`).
* **Soil background**: bare soil is bright in SWIR; its brightness varies from
  field to field (moisture, organic matter).

Every trait has per-field jitter from its own random stream (``"spectra"``), and
every scene adds its own per-pixel noise (``"landsat", <scene>, "swir"``), so the
world's other arrays and the existing bands are unchanged for the same seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agrifactory import legend
from agrifactory.synthetic.world import pixel_classes, rng_for

if TYPE_CHECKING:
    from agrifactory.synthetic.world import World

#: The bands this module adds to a scene.
EXTRA_BANDS = ("green", "swir1", "swir2")


@dataclass(frozen=True)
class Signature:
    """Spectral traits of one class (reflectance units, days)."""

    swir1_ratio: float
    """SWIR1 / NIR of the green canopy (about 0.45 for well-watered leaves, 1 for straw)."""

    dry_lag: float | None
    """Days before the NDVI decline (``t2``) at which half the canopy has dried; None: never."""

    flower: float = 0.0
    """Change of green reflectance at full cover in full bloom."""

    flower_lag: float = 0.0
    """Days after the green-up midpoint (``t1``) of full bloom."""


#: Traits per class; water and built-up surfaces have fixed SWIR reflectances instead.
SIGNATURES = {
    "potato": Signature(0.50, 12.0),
    "sugar_beet": Signature(0.47, 4.0),
    "sunflower": Signature(0.52, 22.0, flower=0.035, flower_lag=38.0),
    "vegetables": Signature(0.50, 6.0),
    "oat": Signature(0.58, 16.0),
    "wheat": Signature(0.64, 50.0),
    "flax": Signature(0.52, 34.0, flower=-0.04, flower_lag=14.0),
    "grassland": Signature(0.64, 30.0),
    "forest": Signature(0.42, None),
    "water": Signature(0.0, None),
    "built_up": Signature(0.0, None),
}

#: SWIR1 / NIR and SWIR2 / NIR of a dried canopy (straw).
DRY_SWIR1_RATIO, DRY_SWIR2_RATIO = 1.05, 0.85
#: SWIR2 / SWIR1 of a green canopy and of bare soil.
WET_SWIR2_SHARE, SOIL_SWIR2_SHARE = 0.45, 0.82
#: SWIR1 of bare soil of the cropland's brightness (0.40, red + NIR).
SOIL_SWIR1 = 0.30
#: Fixed reflectance of open water (green is computed as for every surface).
WATER_SWIR = {"swir1": 0.015, "swir2": 0.010}
#: NDVI of bare soil and of a full canopy, for the canopy cover.
NDVI_SOIL, NDVI_FULL = 0.12, 0.85
#: Days over which the dry-down and the bloom take hold (logistic and Gaussian widths).
DRY_WIDTH_DAYS, BLOOM_SD_DAYS = 5.0, 7.0
#: Per-field jitter: relative SD of the water ratio and the soil, SD (days) of the
#: dry-down and the bloom, range of the bloom's strength.
JITTER = {"ratio": 0.05, "soil": 0.08, "dry_days": 6.0, "bloom_days": 4.0, "bloom": (0.6, 1.4)}
#: Per-pixel noise of each scene (reflectance SD).
NOISE = {"green": 0.004, "swir1": 0.006, "swir2": 0.005}
#: Reflectance of snow and of thick cloud in the new bands.
SNOW = {"green": 0.76, "swir1": 0.12, "swir2": 0.08}
CLOUD = {"green": 0.52, "swir1": 0.38, "swir2": 0.28}
#: Unflagged regional haze, added where it lies (it scatters less at long wavelengths).
HAZE = {"green": 0.035, "swir1": 0.006, "swir2": 0.003}


@dataclass(frozen=True)
class SpectralTraits:
    """Per-pixel traits of the world (float32 arrays on the world grid)."""

    swir1_ratio: np.ndarray
    t_dry: np.ndarray
    """DOY at which the canopy is half dry (inf: never)."""
    flower: np.ndarray
    t_flower: np.ndarray
    soil_swir1: np.ndarray
    water: np.ndarray
    """bool: open water."""


def spectral_traits(world: World) -> SpectralTraits:
    """The traits of every pixel: the class's signature, jittered per field."""
    shape = world.grid.shape
    names = pixel_classes(world.landcover, world.croptype)
    table = {k: np.zeros(shape, np.float32) for k in ("ratio", "lag", "flower", "flower_lag")}
    table["lag"][:] = np.nan
    for name, sig in SIGNATURES.items():
        sel = names == name
        table["ratio"][sel] = sig.swir1_ratio
        table["lag"][sel] = np.nan if sig.dry_lag is None else sig.dry_lag
        table["flower"][sel] = sig.flower
        table["flower_lag"][sel] = sig.flower_lag
    rng = rng_for(world.spec.seed, "spectra")
    n = int(world.field_id.max()) + 1

    def per_field(values: np.ndarray) -> np.ndarray:
        return values.astype(np.float32)[world.field_id]

    ratio = table["ratio"] * (1.0 + JITTER["ratio"] * per_field(rng.standard_normal(n)))
    dry = per_field(rng.normal(0.0, JITTER["dry_days"], n))
    t_dry = np.where(np.isnan(table["lag"]), np.inf, world.params["t2"] - table["lag"] + dry)
    bloom = per_field(rng.uniform(*JITTER["bloom"], n))
    t_flower = world.params["t1"] + table["flower_lag"]
    t_flower += per_field(rng.normal(0.0, JITTER["bloom_days"], n))
    soil = SOIL_SWIR1 * world.brightness / 0.40
    soil *= 1.0 + JITTER["soil"] * per_field(rng.standard_normal(n))
    return SpectralTraits(
        swir1_ratio=ratio.astype(np.float32),
        t_dry=t_dry.astype(np.float32),
        flower=(table["flower"] * bloom).astype(np.float32),
        t_flower=t_flower.astype(np.float32),
        soil_swir1=soil.astype(np.float32),
        water=world.landcover == legend.code_of(legend.LANDCOVER, "water"),
    )


def canopy_cover(ndvi: np.ndarray) -> np.ndarray:
    """Green canopy cover in [0, 1], linear in NDVI between bare soil and full cover."""
    return np.clip((ndvi - NDVI_SOIL) / (NDVI_FULL - NDVI_SOIL), 0.0, 1.0)


def extra_bands(
    world: World,
    date: dt.date,
    ndvi: np.ndarray,
    red: np.ndarray,
    nir: np.ndarray,
    key: str,
    traits: SpectralTraits | None = None,
) -> dict[str, np.ndarray]:
    """Clear-sky green, SWIR1 and SWIR2 (float32 reflectance) of one scene.

    ``ndvi``, ``red`` and ``nir`` are the scene's own (before its atmosphere);
    ``key`` names the scene's noise stream; ``traits`` default to the world's.
    """
    traits = world.spectra if traits is None else traits
    t = world.doy(date)
    cover = canopy_cover(ndvi)
    dry = 1.0 / (1.0 + np.exp(-(t - traits.t_dry) / DRY_WIDTH_DAYS))
    r1 = traits.swir1_ratio + (DRY_SWIR1_RATIO - traits.swir1_ratio) * dry
    r2 = WET_SWIR2_SHARE * traits.swir1_ratio
    r2 = r2 + (DRY_SWIR2_RATIO - r2) * dry
    soil = traits.soil_swir1
    swir1 = (1.0 - cover) * soil + cover * r1 * nir
    swir2 = (1.0 - cover) * SOIL_SWIR2_SHARE * soil + cover * r2 * nir
    swir1 = np.where(traits.water, WATER_SWIR["swir1"], swir1)
    swir2 = np.where(traits.water, WATER_SWIR["swir2"], swir2)
    bloom = traits.flower * np.exp(-0.5 * ((t - traits.t_flower) / BLOOM_SD_DAYS) ** 2)
    green = 0.85 * red + 0.012 + cover * (0.05 * (1.0 - dry) + bloom)
    rng = rng_for(world.spec.seed, "landsat", key, "swir")
    out = {"green": green, "swir1": swir1, "swir2": swir2}
    return {
        name: (arr + rng.normal(0.0, NOISE[name], arr.shape)).astype(np.float32)
        for name, arr in out.items()
    }
