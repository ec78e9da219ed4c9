"""Vector output: GeoPackages written atomically and byte for byte reproducibly.

GDAL stamps a GeoPackage's ``gpkg_contents.last_change`` with the time of
writing, so two runs of the same config would give files that differ only in
that stamp. Every GeoPackage the factory writes carries the fixed stamp
:data:`GPKG_TIMESTAMP` instead (GDAL's ``OGR_CURRENT_DATE`` option), so equal
content gives equal bytes and the run manifest can compare runs by checksum.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio

from agrifactory.io.files import atomic_path

#: ``last_change`` of every GeoPackage layer the factory writes.
GPKG_TIMESTAMP = "2000-01-01T00:00:00.000Z"


@contextlib.contextmanager
def _gdal_option(name: str, value: str) -> Iterator[None]:
    """Set one GDAL configuration option of pyogrio's GDAL for the duration of a block."""
    before = pyogrio.get_gdal_config_option(name)
    pyogrio.set_gdal_config_options({name: value})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({name: before})


def write_gpkg(gdf: gpd.GeoDataFrame, path: str | Path, layer: str) -> Path:
    """Write one layer to a new GeoPackage, atomically and reproducibly.

    Parameters
    ----------
    gdf
        The features.
    path
        Output ``.gpkg`` path (replaced if it exists).
    layer
        Layer name.
    """
    with atomic_path(path) as tmp, _gdal_option("OGR_CURRENT_DATE", GPKG_TIMESTAMP):
        gdf.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")
    return Path(path)
