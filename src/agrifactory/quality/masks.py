"""The per-pixel quality mask: QA_PIXEL classes, spectral tests and saturation, one bit each.

A pixel is *clear* (usable) when its mask value is 0. The bits (uint8):

=====  =====  ===============================================================
bit    value  meaning
=====  =====  ===============================================================
0      1      fill: no data (QA_PIXEL fill bit, or a NaN reflectance)
1      2      cloud per QA_PIXEL (cloud, dilated cloud or cirrus bit)
2      4      cloud shadow per QA_PIXEL
3      8      snow/ice per QA_PIXEL
4      16     bright: blue reflectance high and NDVI low (cloud the mask missed)
5      32     cold: thermal far below the scene's clear pixels, and not dark
6      64     haze: haze-optimised transform (HOT) above the clear pixels'
7      128    radiometric saturation in a reflective band (QA_RADSAT)
=====  =====  ===============================================================

HOT (Zhang, Guindon & Cihlar 2002, Remote Sensing of Environment 82:173-187):
clear pixels lie on a line in blue-red space; haze adds more to blue than to red
and moves a pixel off it. With ``theta`` the angle of that line,
``HOT = blue * sin(theta) - red * cos(theta)`` is constant along the line and grows
with haze. Here the line is fitted by least squares (two rounds that drop 3-sigma
outliers) on each scene's clear pixels, and the stack's line is the median of the
scenes' slopes and intercepts, so a minority of uniformly hazy scenes (whose haze
the QA band calls clear) cannot pull it; the paper fits bin-wise maxima on a
hand-picked clear region instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agrifactory.io.landsat import QA_WATER, bit, decode_qa_pixel, saturated
from agrifactory.quality.config import SpectralTests

FILL = np.uint8(1)
QA_CLOUD = np.uint8(2)
QA_SHADOW = np.uint8(4)
QA_SNOW = np.uint8(8)
BRIGHT = np.uint8(16)
COLD = np.uint8(32)
HAZE = np.uint8(64)
SATURATED = np.uint8(128)

#: Name of each bit, in bit order (used for band tags and the docs).
BIT_NAMES: dict[str, int] = {
    "fill": int(FILL),
    "qa_cloud": int(QA_CLOUD),
    "qa_shadow": int(QA_SHADOW),
    "qa_snow": int(QA_SNOW),
    "bright": int(BRIGHT),
    "cold": int(COLD),
    "haze": int(HAZE),
    "saturated": int(SATURATED),
}


def ndvi(red: np.ndarray, nir: np.ndarray) -> np.ndarray:
    """NDVI as float32; NaN where either band is NaN or ``nir + red <= 0``."""
    red = np.asarray(red, dtype=np.float32)
    nir = np.asarray(nir, dtype=np.float32)
    total = nir + red
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (nir - red) / total
    out[~(total > 0)] = np.nan
    return out


def qa_classes(qa: np.ndarray) -> np.ndarray:
    """The QA_PIXEL part of the mask (bits 0-3) of a Collection 2 ``QA_PIXEL`` array.

    Fill pixels carry only the fill bit. Note that the Collection 2 "clear" bit
    is set for shadow and snow pixels (it only means "no cloud"), so it is not
    used here.
    """
    d = decode_qa_pixel(qa)
    out = np.zeros(np.shape(qa), dtype=np.uint8)
    out[d["cloud"]] |= QA_CLOUD
    out[d["shadow"]] |= QA_SHADOW
    out[d["snow"]] |= QA_SNOW
    out[d["fill"]] = FILL
    return out


def qa_water(qa: np.ndarray) -> np.ndarray:
    """True where ``QA_PIXEL`` marks water (bit 7)."""
    return bit(qa, QA_WATER)


def bright_test(blue: np.ndarray, ndvi_values: np.ndarray, tests: SpectralTests) -> np.ndarray:
    """True where blue reflectance exceeds ``bright_blue`` and NDVI is below ``bright_ndvi_max``."""
    with np.errstate(invalid="ignore"):
        return (np.asarray(blue) > tests.bright_blue) & (
            np.asarray(ndvi_values) < tests.bright_ndvi_max
        )


def cold_test(
    thermal: np.ndarray, blue: np.ndarray, reference_k: float, tests: SpectralTests
) -> np.ndarray:
    """True where ``thermal < reference_k - cold_delta_k`` and blue exceeds ``cold_min_blue``."""
    if not np.isfinite(reference_k):
        return np.zeros(np.shape(thermal), dtype=bool)
    with np.errstate(invalid="ignore"):
        return (np.asarray(thermal) < reference_k - tests.cold_delta_k) & (
            np.asarray(blue) > tests.cold_min_blue
        )


@dataclass(frozen=True)
class ClearLine:
    """The clear line of HOT: ``red = intercept + blue * tan(theta)``, and HOT's clear level."""

    theta: float
    intercept: float
    hot_reference: float
    n_pixels: int

    def hot(self, blue: np.ndarray, red: np.ndarray) -> np.ndarray:
        """The haze-optimised transform of each pixel (float32)."""
        s, c = np.float32(np.sin(self.theta)), np.float32(np.cos(self.theta))
        return np.asarray(blue, np.float32) * s - np.asarray(red, np.float32) * c


def fit_clear_line(blue: np.ndarray, red: np.ndarray, tests: SpectralTests) -> ClearLine | None:
    """Fit the HOT clear line on samples of clear pixels (1-D arrays, NaN-free).

    Returns None when fewer than ``tests.hot_min_pixels`` samples remain, blue has
    no spread, or the fitted slope is not positive: the haze test is then skipped
    and the scores table says so.
    """
    x = np.asarray(blue, dtype=np.float64).ravel()
    y = np.asarray(red, dtype=np.float64).ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    for _ in range(2):
        if x.size < tests.hot_min_pixels or np.ptp(x) <= 0:
            return None
        slope, intercept = np.polyfit(x, y, 1)
        resid = y - (intercept + slope * x)
        mad = np.median(np.abs(resid - np.median(resid)))
        inside = np.abs(resid) <= 3.0 * 1.4826 * mad if mad > 0 else np.ones_like(x, bool)
        x, y = x[inside], y[inside]
    if x.size < tests.hot_min_pixels or np.ptp(x) <= 0:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    if slope <= 0:
        return None
    theta = float(np.arctan(slope))
    line = ClearLine(theta, float(intercept), 0.0, int(x.size))
    ref = float(np.median(line.hot(x, y)))
    return ClearLine(theta, float(intercept), ref, int(x.size))


def stack_clear_line(
    samples: list[tuple[np.ndarray, np.ndarray]], tests: SpectralTests
) -> ClearLine | None:
    """The clear line of a stack: median slope and intercept of per-scene fits.

    ``samples`` holds one ``(blue, red)`` pair of 1-D clear-pixel samples per
    scene; scenes with too few samples are left out. The HOT reference is the
    median over scenes of each scene's median HOT under the common line. None when
    no scene can be fitted.
    """
    fits = []
    for blue, red in samples:
        line = fit_clear_line(blue, red, tests)
        if line is not None:
            fits.append((line, blue, red))
    if not fits:
        return None
    slope = float(np.median([np.tan(f[0].theta) for f in fits]))
    intercept = float(np.median([f[0].intercept for f in fits]))
    common = ClearLine(float(np.arctan(slope)), intercept, 0.0, 0)
    ref = float(np.median([np.median(common.hot(b, r)) for _, b, r in fits]))
    n = int(sum(f[0].n_pixels for f in fits))
    return ClearLine(common.theta, intercept, ref, n)


def haze_test(
    blue: np.ndarray, red: np.ndarray, line: ClearLine | None, tests: SpectralTests
) -> np.ndarray:
    """True where HOT exceeds the clear level by more than ``haze_delta``."""
    if line is None:
        return np.zeros(np.shape(blue), dtype=bool)
    with np.errstate(invalid="ignore"):
        return line.hot(blue, red) - np.float32(line.hot_reference) > np.float32(tests.haze_delta)


def saturation_test(radsat: np.ndarray, bands: tuple[int, ...]) -> np.ndarray:
    """True where any of the Landsat band numbers ``bands`` is saturated (``QA_RADSAT``)."""
    return saturated(radsat, list(bands))
