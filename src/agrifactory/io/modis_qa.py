"""MODIS Collection 6.1 quality layers: bit fields, masks and QA-masked NDVI.

Two products are covered; every layout below is the one of the product user guides.

**MOD09Q1 / MYD09Q1** (8-day surface reflectance, 250 m), layer ``sur_refl_qc_250m``,
16 bits (MODIS Surface Reflectance User's Guide, Collection 6, E. Vermote et al.,
table "250 m 8-day QA"):

======  ===========================  ==============================================
bits    field                        values
======  ===========================  ==============================================
0-1     ``modland``                  0 ideal quality, 1 less than ideal quality,
                                     2 not produced due to cloud, 3 not produced
                                     for other reasons (may be fill)
2-3     ``cloud_state``              0 clear, 1 cloudy, 2 mixed, 3 not set
                                     (assumed clear)
4-7     ``band1_quality``            0 highest quality, 7 noisy detector, 8 dead
8-11    ``band2_quality``            detector (interpolated), 9 solar zenith >= 86°,
                                     10 solar zenith 85-86°, 11 missing input,
                                     12 internal constant used for an atmospheric
                                     constant, 13 correction out of bounds, 14 L1B
                                     data faulty, 15 not processed (deep ocean or
                                     clouds)
12      ``atmospheric_correction``   1 performed
13      ``adjacency_correction``     1 performed
======  ===========================  ==============================================

Bits 14-15 are not decoded (spare in the 8-day product). Reflectance: int16 x 1e-4,
fill -28672, valid range -100..16000.

:func:`mod09q1_good` keeps a pixel where all of these hold (each failing one masks it):
both DNs are not fill and inside the valid range; ``modland`` is 0 or 1 (a corrected
value was produced); ``cloud_state`` is 0 or 3 (clear, or not set and assumed clear
as the guide says); ``band1_quality`` and ``band2_quality`` are 0; and
``atmospheric_correction`` is 1 (an uncorrected value is not surface reflectance).
``adjacency_correction`` is decoded but never masks.

**MOD13Q1 / MOD13A1** (16-day vegetation indices, 250 m / 500 m; MODIS Vegetation
Index User's Guide, Collection 6, K. Didan et al., tables "pixel reliability" and
"VI Quality"):

- ``pixel_reliability`` (250 m) or ``SummaryQA`` (the same codes): -1 fill/no data,
  0 good, 1 marginal (useful, look at DetailedQA), 2 snow/ice, 3 cloudy.
- ``DetailedQA`` / ``VI Quality``, 16 bits: 0-1 ``vi_quality`` (0 good, 1 check other
  QA, 2 probably cloudy, 3 not produced for other reasons), 2-5 ``vi_usefulness``
  (0 highest .. 12 lowest quality, 13 too low to be useful, 14 L1B faulty, 15 not
  useful / not processed), 6-7 ``aerosol`` (0 climatology, 1 low, 2 intermediate,
  3 high), 8 ``adjacent_cloud``, 9 ``brdf_correction``, 10 ``mixed_clouds``, 11-13
  ``land_water`` (0 shallow ocean, 1 land, 2 ocean coastline / lake shoreline,
  3 shallow inland water, 4 ephemeral water, 5 deep inland water, 6 moderate or
  continental ocean, 7 deep ocean), 14 ``snow_ice``, 15 ``shadow``.
- NDVI: int16 x 1e-4, fill -3000, valid range -2000..10000.

:func:`mod13_ndvi` keeps a value where it is not fill, lies in the valid range and its
reliability is one of ``accept`` (good and marginal by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

#: A field of a QA word: (first bit, number of bits).
Layout = Mapping[str, tuple[int, int]]

MOD09Q1_QC_FIELDS: Layout = {
    "modland": (0, 2),
    "cloud_state": (2, 2),
    "band1_quality": (4, 4),
    "band2_quality": (8, 4),
    "atmospheric_correction": (12, 1),
    "adjacency_correction": (13, 1),
}
MOD09_FILL = -28672
MOD09_VALID_RANGE = (-100, 16000)
MOD09_SCALE = 1e-4
#: ``modland`` values where a corrected reflectance was produced (ideal, less than ideal).
MODLAND_PRODUCED = (0, 1)
#: ``cloud_state`` values taken as clear: clear, and "not set, assumed clear".
CLEAR_CLOUD_STATES = (0, 3)

MOD13_DETAILED_QA_FIELDS: Layout = {
    "vi_quality": (0, 2),
    "vi_usefulness": (2, 4),
    "aerosol": (6, 2),
    "adjacent_cloud": (8, 1),
    "brdf_correction": (9, 1),
    "mixed_clouds": (10, 1),
    "land_water": (11, 3),
    "snow_ice": (14, 1),
    "shadow": (15, 1),
}
MOD13_NDVI_FILL = -3000
MOD13_VALID_RANGE = (-2000, 10000)
MOD13_SCALE = 1e-4

#: ``pixel_reliability`` / ``SummaryQA`` codes and their names.
RELIABILITY_FILL, RELIABILITY_GOOD, RELIABILITY_MARGINAL = -1, 0, 1
RELIABILITY_SNOW, RELIABILITY_CLOUDY = 2, 3
RELIABILITY_NAMES = {-1: "fill", 0: "good", 1: "marginal", 2: "snow_ice", 3: "cloudy"}


def bit_field(word: Any, first: int, n_bits: int) -> np.ndarray:
    """The ``n_bits`` bits of a 16-bit QA word starting at bit ``first``, as uint8.

    Signed int16 words (as GDAL may read them) are taken bit for bit.
    """
    w = np.asarray(word)
    if w.dtype.kind not in "iu":
        raise TypeError(f"QA words must be integers, got {w.dtype}")
    w = w.astype(np.int64) & 0xFFFF
    return ((w >> first) & ((1 << n_bits) - 1)).astype(np.uint8)


def decode(word: Any, layout: Layout) -> dict[str, np.ndarray]:
    """Every field of ``layout`` (name -> (first bit, bits)) of the QA words."""
    return {name: bit_field(word, first, n) for name, (first, n) in layout.items()}


def encode(fields: Mapping[str, Any], layout: Layout) -> np.ndarray:
    """The uint16 QA words of the given field values (fields left out are 0).

    Raises ValueError for an unknown field or a value that does not fit its bits.
    """
    unknown = set(fields) - set(layout)
    if unknown:
        raise ValueError(f"unknown QA fields {sorted(unknown)}; known: {list(layout)}")
    shape = np.broadcast_shapes(*(np.shape(v) for v in fields.values()))
    word = np.zeros(shape, dtype=np.int64)
    for name, value in fields.items():
        first, n = layout[name]
        v = np.asarray(value, dtype=np.int64)
        if ((v < 0) | (v >= 1 << n)).any():
            raise ValueError(f"{name} must be in 0..{(1 << n) - 1}")
        word |= v << first
    return word.astype(np.uint16)


def decode_mod09q1_qc(qc: Any) -> dict[str, np.ndarray]:
    """The fields of MOD09Q1 ``sur_refl_qc_250m`` (:data:`MOD09Q1_QC_FIELDS`)."""
    return decode(qc, MOD09Q1_QC_FIELDS)


def decode_mod13_detailed_qa(qa: Any) -> dict[str, np.ndarray]:
    """The fields of MOD13 ``DetailedQA`` / ``VI Quality`` (:data:`MOD13_DETAILED_QA_FIELDS`)."""
    return decode(qa, MOD13_DETAILED_QA_FIELDS)


def _valid_dn(dn: Any, fill: int, valid_range: tuple[int, int]) -> np.ndarray:
    """True where a DN is finite, not fill and inside the valid range."""
    d = np.asarray(dn, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(d) & (d != fill) & (d >= valid_range[0]) & (d <= valid_range[1])


def mod09q1_good(red_dn: Any, nir_dn: Any, qc: Any, fill: int = MOD09_FILL) -> np.ndarray:
    """Boolean mask: True where a MOD09Q1 pixel may be used (the rules in the module doc).

    ``~mod09q1_good(...).any()`` tells that a whole date is unusable.
    """
    f = decode_mod09q1_qc(qc)
    return (
        _valid_dn(red_dn, fill, MOD09_VALID_RANGE)
        & _valid_dn(nir_dn, fill, MOD09_VALID_RANGE)
        & np.isin(f["modland"], MODLAND_PRODUCED)
        & np.isin(f["cloud_state"], CLEAR_CLOUD_STATES)
        & (f["band1_quality"] == 0)
        & (f["band2_quality"] == 0)
        & (f["atmospheric_correction"] == 1)
    )


def mod09q1_ndvi(
    red_dn: Any, nir_dn: Any, qc: Any, fill: int = MOD09_FILL, scale: float = MOD09_SCALE
) -> np.ndarray:
    """NDVI (float32) of MOD09Q1 band 1 (red) and band 2 (NIR) DNs, NaN where masked.

    Masked: where :func:`mod09q1_good` is False, where red + NIR reflectance is not
    positive, and where the NDVI falls outside [-1, 1] (possible with the slightly
    negative reflectances the valid range allows).
    """
    good = mod09q1_good(red_dn, nir_dn, qc, fill)
    red = np.asarray(red_dn, dtype=np.float64) * scale
    nir = np.asarray(nir_dn, dtype=np.float64) * scale
    total = nir + red
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (nir - red) / total
        keep = good & (total > 0) & (np.abs(ndvi) <= 1.0)
    return np.where(keep, ndvi, np.nan).astype(np.float32)


def mod13_ndvi(
    ndvi_dn: Any,
    reliability: Any,
    accept: tuple[int, ...] = (0, 1),
    scale: float = MOD13_SCALE,
) -> np.ndarray:
    """MOD13 NDVI (float32, DN x 1e-4), NaN where fill, out of range or not in ``accept``.

    ``reliability`` holds ``pixel_reliability`` / ``SummaryQA`` codes (-1..3); a NaN
    code (a missing record) is never accepted.
    """
    rel = np.asarray(reliability, dtype=np.float64)
    keep = _valid_dn(ndvi_dn, MOD13_NDVI_FILL, MOD13_VALID_RANGE) & np.isin(rel, accept)
    ndvi = np.asarray(ndvi_dn, dtype=np.float64) * scale
    return np.where(keep, ndvi, np.nan).astype(np.float32)
