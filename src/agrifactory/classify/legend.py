"""Training legends of the three classification products (uint8 codes, 255 = nodata).

A legend maps a label (as written in sample tables) to the uint8 code stored in the
class raster. The codes come from :mod:`agrifactory.legend`, shared with the demo
world and the reports; codes never change once published, so products of
different runs and years stay comparable.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from agrifactory import legend as _shared

#: Code of pixels with no class (outside data, outside cropland for crop type and irrigation).
NODATA: int = _shared.NODATA

#: Code of "not cropland" in the irrigation and crop-type rasters.
NOT_CROPLAND: int = 0

#: The classification products, in the order they are mapped (cropland first: the
#: irrigation and crop-type models classify only its cropland pixels).
PRODUCTS: tuple[str, ...] = ("cropland", "irrigation", "croptype")


def _training_legend(codes: Mapping[int, str]) -> Mapping[str, int]:
    """Label -> code of the classes a model predicts (the raster-only 'not_cropland' dropped)."""
    return MappingProxyType(
        {label: code for code, label in codes.items() if label != "not_cropland"}
    )


#: The legends of :mod:`agrifactory.legend`, the one source of class codes, label -> code.
CROPLAND: Mapping[str, int] = _training_legend(_shared.CROPLAND)
IRRIGATION: Mapping[str, int] = _training_legend(_shared.IRRIGATION)
CROPTYPE: Mapping[str, int] = _training_legend(_shared.CROPTYPE)

LEGENDS: Mapping[str, Mapping[str, int]] = MappingProxyType(
    {"cropland": CROPLAND, "irrigation": IRRIGATION, "croptype": CROPTYPE}
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


def raster_legend(product: str) -> dict[str, int]:
    """Label -> code of a product's class raster (with ``not_cropland`` where it has one)."""
    return {name: code for code, name in _shared.LEGENDS[product].items()}
