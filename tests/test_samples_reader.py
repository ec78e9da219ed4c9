"""Sample points from GeoPackage or CSV."""

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from agrifactory.errors import InputError
from agrifactory.io.samples import read_samples


def test_geopackage_in_any_crs_comes_back_in_wgs84(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"sample_id": ["a", "b"], "cropland": ["cropland", "other"]},
        geometry=[shapely.Point(250_000, 4_600_000), shapely.Point(251_000, 4_600_000)],
        crs="EPSG:32650",
    )
    gdf.to_file(tmp_path / "s.gpkg", layer="samples")
    back = read_samples(tmp_path / "s.gpkg", label_columns=["cropland"])
    assert back.crs.to_epsg() == 4326 and 113 < back.geometry.x.iloc[0] < 115


def test_csv_with_lon_lat(tmp_path):
    pd.DataFrame({"sample_id": ["a"], "lon": [114.1], "lat": [41.6], "croptype": ["oat"]}).to_csv(
        tmp_path / "s.csv", index=False
    )
    back = read_samples(tmp_path / "s.csv", label_columns=["croptype"])
    assert back.geometry.iloc[0].equals(shapely.Point(114.1, 41.6))


def test_bad_samples_are_explained(tmp_path):
    pd.DataFrame(
        {
            "sample_id": ["a", "a"],
            "lon": [114.1, 114.2],
            "lat": [41.6, 41.6],
            "croptype": ["oat", "oat"],
        }
    ).to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(InputError, match=r"duplicate sample_id values \['a'\]"):
        read_samples(tmp_path / "dup.csv")
    pd.DataFrame({"sample_id": ["a"], "lon": [114.1], "lat": [41.6]}).to_csv(
        tmp_path / "nolabel.csv", index=False
    )
    with pytest.raises(InputError, match=r"missing column\(s\) \['croptype'\]"):
        read_samples(tmp_path / "nolabel.csv", label_columns=["croptype"])
    pd.DataFrame({"sample_id": ["a"], "lon": [4114.1], "lat": [41.6]}).to_csv(
        tmp_path / "range.csv", index=False
    )
    with pytest.raises(InputError, match="row 2: lon/lat out of range"):
        read_samples(tmp_path / "range.csv")
    gpd.GeoDataFrame(
        {"sample_id": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326"
    ).to_file(tmp_path / "poly.gpkg")
    with pytest.raises(InputError, match="samples must be points"):
        read_samples(tmp_path / "poly.gpkg")
