"""Class legends of the three classification products (uint8 codes, 255 = nodata).

A legend maps a label (as written in sample tables) to the uint8 code stored in the
class raster. Codes never change once published: products of different runs and
years stay comparable.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Code of pixels with no class (outside data, outside cropland for crop type and irrigation).
NODATA: int = 255

CROPLAND: Mapping[str, int] = MappingProxyType({"other": 0, "cropland": 1})

IRRIGATION: Mapping[str, int] = MappingProxyType({"irrigated": 1, "rainfed": 2})

#: The demo's crops: irrigated potato, sugar beet, sunflower, vegetables; rainfed oat,
#: wheat, flax. Codes 1-4 are the irrigated crops, 11-13 the rainfed ones, so that a
#: crop-type code says at a glance which irrigation class it belongs to.
CROP_TYPE: Mapping[str, int] = MappingProxyType(
    {
        "potato": 1,
        "sugar_beet": 2,
        "sunflower": 3,
        "vegetables": 4,
        "oat": 11,
        "wheat": 12,
        "flax": 13,
    }
)

LEGENDS: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {"cropland": CROPLAND, "irrigation": IRRIGATION, "crop_type": CROP_TYPE}
)


def check_legend(legend: Mapping[str, int], name: str = "legend") -> dict[str, int]:
    """Validate a legend: unique uint8 codes other than :data:`NODATA`, unique labels.

    Returns a plain ``dict`` copy. Raises :class:`~agrifactory.errors.ConfigError`.
    """
    from agrifactory.errors import ConfigError

    out = {}
    seen: dict[int, str] = {}
    for label, code in legend.items():
        if isinstance(code, bool) or not isinstance(code, int) or not 0 <= code < NODATA:
            raise ConfigError(
                f"{name}: label {label!r} has code {code!r}; codes are integers 0..254 "
                f"({NODATA} is nodata)"
            )
        if code in seen:
            raise ConfigError(f"{name}: labels {seen[code]!r} and {label!r} share code {code}")
        seen[code] = label
        out[str(label)] = code
    if len(out) < 2:
        raise ConfigError(f"{name}: a legend needs at least two classes, got {list(out)}")
    return out


def code_names(legend: Mapping[str, int]) -> dict[int, str]:
    """Invert a legend: code -> label."""
    return {code: label for label, code in legend.items()}
