"""Scale and offset of product digital numbers where a file does not give them."""

from __future__ import annotations

from dataclasses import dataclass

from agrifactory.io import landsat, modis


@dataclass(frozen=True)
class ProductScaling:
    """What the ingest applies where a scene has no metadata file (MTL) or a composite no
    scale tag: the documented Collection 2 and MODIS values, or a provider profile's
    (``acquire.providers.<name>``)."""

    reflectance: tuple[float, float] = (landsat.SR_SCALE, landsat.SR_OFFSET)
    """Landsat surface reflectance = DN x scale + offset."""

    temperature: tuple[float, float] = (landsat.ST_SCALE, landsat.ST_OFFSET)
    """Landsat surface temperature (K) = DN x scale + offset."""

    modis: float = modis.NDVI_SCALE
    """MODIS NDVI or reflectance = DN x scale."""

    def landsat(self, suffix: str) -> tuple[float, float]:
        """(scale, offset) of a Landsat band suffix (``SR_B4``, ``ST_B10``)."""
        return self.temperature if suffix.startswith("ST_") else self.reflectance
