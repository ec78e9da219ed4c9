"""Landsat Collection 2 Level-2: product ids, band files, scaling and QA bits.

References: USGS Landsat 8-9 Collection 2 Level-2 Science Product Guide (LSDS-1619)
and Landsat 4-7 guide (LSDS-1618): QA_PIXEL bit layout, QA_RADSAT bits, the Level-2
QA bands of each sensor family (TM/ETM+: ``SR_CLOUD_QA`` and ``SR_ATMOS_OPACITY``;
OLI: ``SR_QA_AEROSOL``) and the surface-reflectance scale 2.75e-5 with offset -0.2.
A scene's own scale and offset are in its metadata file (:mod:`agrifactory.io.landsat_mtl`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agrifactory.errors import InputError

#: Surface reflectance = DN * SR_SCALE + SR_OFFSET (valid DN 7273..43636, fill 0).
SR_SCALE = 2.75e-5
SR_OFFSET = -0.2
#: Surface temperature (K) = DN * ST_SCALE + ST_OFFSET (fill 0).
ST_SCALE = 0.00341802
ST_OFFSET = 149.0

_PRODUCT_ID = re.compile(
    r"^(?P<sensor>L[COTEM]0[4-9])_(?P<level>L2S[PR])_(?P<path>\d{3})(?P<row>\d{3})_"
    r"(?P<acquired>\d{8})_(?P<processed>\d{8})_(?P<collection>\d{2})_(?P<tier>T1|T2|RT)$"
)

#: Band file suffix of each spectral name, per sensor family.
_BANDS = {
    "oli": {
        "blue": "SR_B2",
        "green": "SR_B3",
        "red": "SR_B4",
        "nir": "SR_B5",
        "swir1": "SR_B6",
        "swir2": "SR_B7",
        "thermal": "ST_B10",
    },
    "tm": {
        "blue": "SR_B1",
        "green": "SR_B2",
        "red": "SR_B3",
        "nir": "SR_B4",
        "swir1": "SR_B5",
        "swir2": "SR_B7",
        "thermal": "ST_B6",
    },
}

# QA_PIXEL single bits (Collection 2).
QA_FILL = 0
QA_DILATED_CLOUD = 1
QA_CIRRUS = 2
QA_CLOUD = 3
QA_SHADOW = 4
QA_SNOW = 5
QA_CLEAR = 6
QA_WATER = 7
# Two-bit confidence fields: (first bit); values 0 none, 1 low, 2 medium, 3 high.
QA_CLOUD_CONF = 8
QA_SHADOW_CONF = 10
QA_SNOW_CONF = 12
QA_CIRRUS_CONF = 14

#: Level-2 QA bands of each sensor family: TM/ETM+ (LEDAPS, LSDS-1618) and OLI (LaSRC, LSDS-1619).
L2_QA_BANDS = {"tm": ("SR_CLOUD_QA", "SR_ATMOS_OPACITY"), "oli": ("SR_QA_AEROSOL",)}
# SR_CLOUD_QA bits (Landsat 4-7, LSDS-1618).
CLOUD_QA_DDV = 0
CLOUD_QA_CLOUD = 1
CLOUD_QA_SHADOW = 2
CLOUD_QA_ADJACENT = 3
CLOUD_QA_SNOW = 4
CLOUD_QA_WATER = 5
#: SR_ATMOS_OPACITY (Landsat 4-7, int16): opacity = DN x 0.001, fill -9999; above 0.3 is hazy
#: (LSDS-1618: below 0.1 clear, 0.1-0.3 average, above 0.3 hazy).
OPACITY_SCALE = 0.001
OPACITY_FILL = -9999
HAZY_OPACITY = 0.3
# SR_QA_AEROSOL bits (Landsat 8-9, LSDS-1619); bits 3-4 are unused.
AEROSOL_FILL = 0
AEROSOL_VALID = 1
AEROSOL_WATER = 2
AEROSOL_INTERPOLATED = 5
#: First of the two aerosol-level bits (6-7): 0 climatology, 1 low, 2 medium, 3 high.
AEROSOL_LEVEL = 6


@dataclass(frozen=True)
class ProductId:
    """A parsed Collection 2 product id such as ``LC08_L2SP_124031_20210105_20210115_02_T1``."""

    text: str
    sensor: str
    path: int
    row: int
    acquired: dt.date
    processed: dt.date
    tier: str

    @property
    def family(self) -> str:
        """``'oli'`` for Landsat 8/9, ``'tm'`` for Landsat 4-7 (TM and ETM+ share band numbers)."""
        return sensor_family(self.sensor)

    def band_suffix(self, name: str) -> str:
        """File suffix (``SR_B4``) of a spectral band name (``red``) for this sensor."""
        try:
            return _BANDS[self.family][name]
        except KeyError:
            raise KeyError(
                f"unknown Landsat band name {name!r}; known: {sorted(_BANDS['oli'])}"
            ) from None


def sensor_family(sensor: str) -> str:
    """The band family of a sensor code (``LC08`` -> ``'oli'``, ``LE07`` -> ``'tm'``)."""
    return "oli" if sensor in ("LC08", "LC09", "LO08", "LO09") else "tm"


def parse_product_id(text: str, source: str | Path | None = None) -> ProductId:
    """Parse a Collection 2 Level-2 product id; an unparseable id names its source."""
    m = _PRODUCT_ID.match(text)
    if not m:
        raise InputError(
            source or text,
            f"{text!r} is not a Landsat Collection 2 Level-2 product id",
            "expected e.g. LC08_L2SP_124031_20210105_20210115_02_T1",
        )
    return ProductId(
        text=text,
        sensor=m["sensor"],
        path=int(m["path"]),
        row=int(m["row"]),
        acquired=dt.datetime.strptime(m["acquired"], "%Y%m%d").date(),
        processed=dt.datetime.strptime(m["processed"], "%Y%m%d").date(),
        tier=m["tier"],
    )


def band_suffix(family: str, name: str) -> str:
    """File suffix (``SR_B4``) of a band name (``red``) for a sensor family (``oli`` or ``tm``)."""
    try:
        return _BANDS[family][name]
    except KeyError:
        raise KeyError(
            f"unknown Landsat band {family}/{name!r}; known: {sorted(_BANDS['oli'])}"
        ) from None


def band_path(scene_dir: str | Path, pid: ProductId, suffix: str) -> Path:
    """The file of one band (``SR_B4``, ``QA_PIXEL``...) in a scene directory."""
    return Path(scene_dir) / f"{pid.text}_{suffix}.TIF"


def bit(qa: np.ndarray, n: int) -> np.ndarray:
    """Boolean array: bit ``n`` of an integer QA array is set."""
    return (np.asarray(qa).astype(np.uint16) >> n) & 1 == 1


def confidence(qa: np.ndarray, first_bit: int) -> np.ndarray:
    """The 2-bit confidence field starting at ``first_bit`` (0 none .. 3 high)."""
    return ((np.asarray(qa).astype(np.uint16) >> first_bit) & 0b11).astype(np.uint8)


def decode_qa_pixel(qa: np.ndarray) -> dict[str, np.ndarray]:
    """Decode a Collection 2 ``QA_PIXEL`` array into named boolean masks.

    ``cloud`` includes dilated cloud and cirrus (high confidence), as the USGS
    "clear" bit does; ``*_conf`` fields hold the 0-3 confidence levels.
    """
    return {
        "fill": bit(qa, QA_FILL),
        "dilated_cloud": bit(qa, QA_DILATED_CLOUD),
        "cirrus": bit(qa, QA_CIRRUS),
        "cloud": bit(qa, QA_CLOUD) | bit(qa, QA_DILATED_CLOUD) | bit(qa, QA_CIRRUS),
        "shadow": bit(qa, QA_SHADOW),
        "snow": bit(qa, QA_SNOW),
        "clear": bit(qa, QA_CLEAR),
        "water": bit(qa, QA_WATER),
        "cloud_conf": confidence(qa, QA_CLOUD_CONF),
        "shadow_conf": confidence(qa, QA_SHADOW_CONF),
        "snow_conf": confidence(qa, QA_SNOW_CONF),
        "cirrus_conf": confidence(qa, QA_CIRRUS_CONF),
    }


def saturated(radsat: np.ndarray, band_numbers: list[int]) -> np.ndarray:
    """True where any of the given band numbers is saturated in ``QA_RADSAT`` (bit = band - 1)."""
    out = np.zeros(np.shape(radsat), dtype=bool)
    for b in band_numbers:
        out |= bit(radsat, b - 1)
    return out


def decode_sr_cloud_qa(qa: np.ndarray) -> dict[str, np.ndarray]:
    """Decode a Landsat 4-7 ``SR_CLOUD_QA`` array (LSDS-1618) into named boolean masks.

    Bits: 0 dark dense vegetation (``ddv``), 1 cloud, 2 cloud shadow, 3 adjacent to
    cloud, 4 snow, 5 water.
    """
    return {
        "ddv": bit(qa, CLOUD_QA_DDV),
        "cloud": bit(qa, CLOUD_QA_CLOUD),
        "shadow": bit(qa, CLOUD_QA_SHADOW),
        "adjacent_cloud": bit(qa, CLOUD_QA_ADJACENT),
        "snow": bit(qa, CLOUD_QA_SNOW),
        "water": bit(qa, CLOUD_QA_WATER),
    }


def atmos_opacity(dn: np.ndarray) -> np.ndarray:
    """A Landsat 4-7 ``SR_ATMOS_OPACITY`` array as opacity (float32, DN x 0.001); fill -> NaN."""
    dn = np.asarray(dn)
    out = dn.astype(np.float32) * np.float32(OPACITY_SCALE)
    out[dn == OPACITY_FILL] = np.nan
    return out


def hazy(opacity: np.ndarray) -> np.ndarray:
    """True where the atmospheric opacity is above 0.3 (LSDS-1618's "hazy"); NaN is not hazy.

    Compared in float32, the type :func:`atmos_opacity` returns: DN 300 is 0.3, not hazy.
    """
    return np.asarray(opacity, np.float32) > np.float32(HAZY_OPACITY)


def decode_sr_qa_aerosol(qa: np.ndarray) -> dict[str, np.ndarray]:
    """Decode a Landsat 8-9 ``SR_QA_AEROSOL`` array (LSDS-1619) into masks and the aerosol level.

    Bits: 0 fill, 1 valid aerosol retrieval (``valid_retrieval``), 2 water, 5
    interpolated aerosol, 6-7 the aerosol level (``aerosol_level`` 0 climatology,
    1 low, 2 medium, 3 high).
    """
    return {
        "fill": bit(qa, AEROSOL_FILL),
        "valid_retrieval": bit(qa, AEROSOL_VALID),
        "water": bit(qa, AEROSOL_WATER),
        "interpolated": bit(qa, AEROSOL_INTERPOLATED),
        "aerosol_level": confidence(qa, AEROSOL_LEVEL),
    }


def band_number(suffix: str) -> int:
    """``'SR_B4'`` -> 4."""
    return int(suffix.rsplit("B", 1)[1])


def reflectance(dn: np.ndarray, scale: float = SR_SCALE, offset: float = SR_OFFSET) -> np.ndarray:
    """Scale SR digital numbers to reflectance (float32, ``dn * scale + offset``); fill (0) -> NaN.

    ``scale`` and ``offset`` are a scene's ``REFLECTANCE_MULT_BAND_n`` and
    ``REFLECTANCE_ADD_BAND_n``; the defaults are the documented C2 constants.
    """
    dn = np.asarray(dn)
    out = dn.astype(np.float32) * np.float32(scale) + np.float32(offset)
    out[dn == 0] = np.nan
    return out


def reflectance_to_dn(refl: np.ndarray) -> np.ndarray:
    """Inverse of :func:`reflectance` (uint16, clipped to the valid DN range; NaN -> fill 0)."""
    refl = np.asarray(refl, dtype=np.float64)
    dn = np.clip(np.round((refl - SR_OFFSET) / SR_SCALE), 1, 65535)
    dn[~np.isfinite(refl)] = 0
    return dn.astype(np.uint16)


def temperature(dn: np.ndarray, scale: float = ST_SCALE, offset: float = ST_OFFSET) -> np.ndarray:
    """Scale ST digital numbers to kelvin (float32, ``dn * scale + offset``); fill (0) -> NaN.

    ``scale`` and ``offset`` are a scene's ``TEMPERATURE_MULT_BAND_ST_B10`` and
    ``TEMPERATURE_ADD_BAND_ST_B10`` (``ST_B6`` for TM/ETM+); the defaults are the C2 constants.
    """
    dn = np.asarray(dn)
    out = dn.astype(np.float32) * np.float32(scale) + np.float32(offset)
    out[dn == 0] = np.nan
    return out


def temperature_to_dn(kelvin: np.ndarray) -> np.ndarray:
    """Inverse of :func:`temperature` (uint16; NaN -> fill 0)."""
    k = np.asarray(kelvin, dtype=np.float64)
    dn = np.clip(np.round((k - ST_OFFSET) / ST_SCALE), 1, 65535)
    dn[~np.isfinite(k)] = 0
    return dn.astype(np.uint16)


def encode_qa_pixel(
    *,
    fill: np.ndarray,
    cloud: np.ndarray,
    shadow: np.ndarray,
    snow: np.ndarray,
    water: np.ndarray,
    dilated_cloud: np.ndarray | None = None,
) -> np.ndarray:
    """Build a Collection 2 ``QA_PIXEL`` array from masks (used by the demo world).

    Confidence fields follow the USGS products: high (3) where the flag is set,
    low (1) elsewhere; fill pixels carry only the fill bit (value 1).
    """
    shape = np.shape(fill)
    dilated = np.zeros(shape, bool) if dilated_cloud is None else np.asarray(dilated_cloud, bool)
    cloud = np.asarray(cloud, bool)
    shadow = np.asarray(shadow, bool)
    snow = np.asarray(snow, bool)
    water = np.asarray(water, bool)
    qa = np.zeros(shape, dtype=np.uint16)
    qa |= dilated.astype(np.uint16) << QA_DILATED_CLOUD
    qa |= cloud.astype(np.uint16) << QA_CLOUD
    qa |= shadow.astype(np.uint16) << QA_SHADOW
    qa |= snow.astype(np.uint16) << QA_SNOW
    qa |= (~(cloud | dilated)).astype(np.uint16) << QA_CLEAR
    qa |= water.astype(np.uint16) << QA_WATER
    qa |= np.where(cloud, 3, 1).astype(np.uint16) << QA_CLOUD_CONF
    qa |= np.where(shadow, 3, 1).astype(np.uint16) << QA_SHADOW_CONF
    qa |= np.where(snow, 3, 1).astype(np.uint16) << QA_SNOW_CONF
    qa |= np.uint16(1 << QA_CIRRUS_CONF)
    qa[np.asarray(fill, bool)] = 1
    return qa
