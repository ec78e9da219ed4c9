"""Labelled sample points: GeoPackage (any CRS) or CSV with lon/lat columns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from agrifactory.errors import InputError


def read_samples(
    path: str | Path,
    *,
    label_columns: Sequence[str] = (),
    id_column: str = "sample_id",
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read sample points as a GeoDataFrame in EPSG:4326.

    Parameters
    ----------
    path
        A GeoPackage/GeoJSON/Shapefile of points, or a CSV with ``lon`` and
        ``lat`` (or ``longitude`` and ``latitude``) columns in WGS84 degrees.
    label_columns
        Columns that must be present (the labels named in the config).
    id_column
        Column with a unique id per point.
    layer
        Layer to read from a multi-layer file.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "samples file not found", "check inputs.samples in the config")
    if path.suffix.lower() == ".csv":
        table = pd.read_csv(path, dtype={id_column: str})
        if "lon" not in table.columns and {"longitude", "latitude"} <= set(table.columns):
            table = table.rename(columns={"longitude": "lon", "latitude": "lat"})
        for col in ("lon", "lat"):
            if col not in table.columns:
                raise InputError(
                    path,
                    f"CSV samples need 'lon' and 'lat' (or 'longitude' and 'latitude') "
                    f"columns; found {list(table.columns)}",
                )
        bad = ~table["lon"].between(-180, 180) | ~table["lat"].between(-90, 90)
        if bad.any():
            raise InputError(
                path, f"row {int(bad.idxmax()) + 2}: lon/lat out of range (degrees expected)"
            )
        gdf = gpd.GeoDataFrame(
            table.drop(columns=["lon", "lat"]),
            geometry=gpd.points_from_xy(table["lon"], table["lat"]),
            crs="EPSG:4326",
        )
    else:
        try:
            gdf = gpd.read_file(path, layer=layer)
        except Exception as exc:  # pyogrio raises several types for unreadable files
            raise InputError(path, f"cannot be read as a vector file ({exc})") from None
        if gdf.crs is None:
            raise InputError(path, "has no CRS", "assign one, e.g. ogr2ogr -a_srs EPSG:4326")
        kinds = set(gdf.geom_type.dropna())
        if kinds - {"Point"}:
            raise InputError(path, f"samples must be points; found {sorted(kinds)}")
        gdf = gdf.to_crs("EPSG:4326")
    missing = [c for c in (id_column, *label_columns) if c not in gdf.columns]
    if missing:
        raise InputError(
            path,
            f"missing column(s) {missing}; columns present: {[c for c in gdf.columns if c != 'geometry']}",
        )
    dups = gdf[id_column][gdf[id_column].duplicated()]
    if len(dups):
        raise InputError(path, f"duplicate {id_column} values {sorted(set(map(str, dups)))[:5]}")
    return gdf.reset_index(drop=True)
