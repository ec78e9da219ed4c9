"""Per-tile areas: exact fractions worked out by hand, pixel centres, conservation, bad input."""

from __future__ import annotations

from fractions import Fraction as F

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from agrifactory.aggregate import sums, zonal
from agrifactory.aggregate.classes import TOTAL_ADCODE
from agrifactory.errors import DataError, GridError, InputError
from agrifactory.grid import ALBERS, PixelGrid, Tile
from agrifactory.io.raster import write_grid_raster

# 3 x 3 pixels of 30 m, upper-left corner at (0, 90).
GRID = PixelGrid(x_min=0.0, y_max=90.0, res=30.0, width=3, height=3)
# Unit A: x in [0, 40] (column 0 whole, a third of column 1).
# Unit B: x in [40, 90], y in [20, 90] (two thirds of column 1, column 2, and a third
# of the bottom row's height); the rest of the bottom row is outside the country.
UNITS = gpd.GeoDataFrame(
    {"adcode": ["110000", "120000"]},
    geometry=[shapely.box(0, 0, 40, 90), shapely.box(40, 20, 90, 90)],
    crs=ALBERS,
)
CROPLAND = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 255]], np.uint8)
IRRIGATION = np.array([[1, 2, 0], [0, 2, 1], [2, 0, 255]], np.uint8)


def _pixels(table, adcode, product, cls):
    sel = table[(table.adcode == adcode) & (table["product"] == product) & (table["class"] == cls)]
    return float(sel["pixels"].sum())


def test_exact_fractions_worked_by_hand():
    t = zonal.unit_pixel_sums({"cropland": CROPLAND, "irrigation": IRRIGATION}, GRID, UNITS)
    # A: column 0 whole (codes 1, 0, 1) + a third of column 1 (codes 1, 1, 0).
    # B: two thirds of column 1 rows 0-1 (1, 1) and 2/9 of its row 2 (0); column 2
    #    rows 0-1 whole (0, 1) and a third of row 2 (255).
    expected = {
        ("110000", "cropland", "cropland"): F(8, 3),
        ("110000", "cropland", "other"): F(4, 3),
        ("120000", "cropland", "cropland"): F(7, 3),
        ("120000", "cropland", "other"): F(11, 9),
        ("120000", "cropland", "nodata"): F(1, 3),
        ("110000", "irrigation", "irrigated"): F(1),
        ("110000", "irrigation", "rainfed"): F(5, 3),
        ("110000", "irrigation", "not_cropland"): F(4, 3),
        ("120000", "irrigation", "irrigated"): F(1),
        ("120000", "irrigation", "rainfed"): F(4, 3),
        ("120000", "irrigation", "not_cropland"): F(11, 9),
        ("120000", "irrigation", "nodata"): F(1, 3),
        (TOTAL_ADCODE, "cropland", "cropland"): F(5),
        (TOTAL_ADCODE, "cropland", "other"): F(23, 9),
        (TOTAL_ADCODE, "cropland", "nodata"): F(1, 3),
    }
    # exactextract stores each pixel's fraction in single precision (1/3 -> 0.33333334)
    # and sums in double: a few border pixels are off by at most ~1e-7 of a pixel.
    for key, value in expected.items():
        assert _pixels(t, *key) == pytest.approx(float(value), abs=1e-6), key
    assert _pixels(t, "110000", "cropland", "nodata") == 0.0
    assert len(t[t.adcode != TOTAL_ADCODE]) == 12  # no other classes appear


def test_pixel_centres_worked_by_hand():
    t = zonal.unit_pixel_sums({"cropland": CROPLAND}, GRID, UNITS, method="centre")
    # Centres at x 15, 45, 75 and y 75, 45, 15: A takes column 0; B takes columns 1-2
    # of rows 0-1; the bottom row's centres (y = 15 < 20) of columns 1-2 are outside.
    assert _pixels(t, "110000", "cropland", "cropland") == 2
    assert _pixels(t, "110000", "cropland", "other") == 1
    assert _pixels(t, "120000", "cropland", "cropland") == 3
    assert _pixels(t, "120000", "cropland", "other") == 1
    assert _pixels(t, "120000", "cropland", "nodata") == 0
    assert _pixels(t, TOTAL_ADCODE, "cropland", "cropland") == 5
    assert _pixels(t, TOTAL_ADCODE, "cropland", "other") == 2


def test_tile_areas_from_files_and_hectares(tmp_path):
    tile = Tile(0, 0, 6)  # 200 x 200 px
    grid = tile.grid()
    x0, y0, x1, y1 = tile.bounds
    arr = np.zeros(grid.shape, np.uint8)
    arr[:, :100] = 1  # west half cropland
    path = write_grid_raster(tmp_path / "cropland.tif", arr, grid, nodata=255)
    # West unit: the west 1,000 m (33 1/3 columns); east unit: the rest.
    cut = x0 + 1000.0
    units = gpd.GeoDataFrame(
        {"adcode": ["110000", "120000"]},
        geometry=[shapely.box(x0, y0, cut, y1), shapely.box(cut, y0, x1, y1)],
        crs=ALBERS,
    ).to_crs("EPSG:4326")
    t = zonal.tile_areas({"cropland": path}, tile, {"province": units})
    assert list(t.columns) == zonal.PARTIAL_COLUMNS
    west = t[(t.adcode == "110000") & (t["class"] == "cropland")]
    # 1000 m x 6000 m of cropland = 600 ha (up to the reprojection round trip of the edge).
    assert west["area_ha"].iloc[0] == pytest.approx(600.0, rel=1e-6)
    total = t[(t.adcode == TOTAL_ADCODE) & (t["class"] == "cropland")]["area_ha"].iloc[0]
    assert total == pytest.approx(100 * 200 * 0.09, rel=1e-9)  # 20,000 px of 0.09 ha


def _voronoi_units(seed_points, country):
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seed_points), extend_to=country)
    )
    geoms = [shapely.intersection(c, country) for c in cells]
    geoms = [g for g in geoms if g.area > 0]
    return gpd.GeoDataFrame(
        {"adcode": [f"{110000 + 10000 * i}" for i in range(len(geoms))]}, geometry=geoms, crs=ALBERS
    )


def _coverage(grid, geom):
    """Per-pixel fraction of ``geom`` (exactextract), as an array on the grid."""
    from exactextract import exact_extract
    from exactextract.feature import GeoPandasFeatureSource
    from exactextract.raster import NumPyRasterSource

    src = NumPyRasterSource(np.zeros(grid.shape, np.uint8), *grid.bounds, nodata=None)
    gdf = gpd.GeoDataFrame({"adcode": ["x"]}, geometry=[geom], crs=ALBERS)
    out = exact_extract(src, GeoPandasFeatureSource(gdf), ["cell_id", "coverage"], output="pandas")
    cov = np.zeros(grid.width * grid.height)
    np.add.at(cov, out["cell_id"].iloc[0].astype(int), out["coverage"].iloc[0])
    return cov.reshape(grid.shape)


# Whole metres plus an offset, so that no vertex sits on the pixel lattice.
point = st.tuples(st.integers(-40, 400), st.integers(-40, 400)).map(
    lambda p: (p[0] + 0.37, p[1] + 0.61)
)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(2, 12), st.integers(2, 12)),
    hull=st.lists(point, min_size=4, max_size=9),
    sites=st.lists(point, min_size=2, max_size=6, unique=True),
)
def test_conservation_property(seed, shape, hull, sites):
    """Sum over units = pixels inside the country, per class, for both methods.

    With fractions it also holds pixel by pixel: the units' fractions of a pixel add
    up to its fraction inside the country (to 1e-6 of a pixel: exactextract keeps
    fractions in single precision).
    """
    country = shapely.convex_hull(shapely.multipoints(hull))
    if country.area < 100.0:
        return
    units = _voronoi_units(sites, country)
    grid = PixelGrid(x_min=0.0, y_max=30.0 * shape[0], res=30.0, width=shape[1], height=shape[0])
    x, y = grid.pixel_centres()
    cx, cy = np.meshgrid(x, y)
    centres = shapely.points(cx.ravel(), cy.ravel())
    edges = shapely.union_all([g.boundary for g in units.geometry])
    assume(shapely.distance(edges, centres).min() > 1e-6)  # no centre exactly on a border
    rng = np.random.default_rng(seed)
    arr = rng.choice(np.array([0, 1, 255], np.uint8), size=grid.shape)

    frac = zonal.unit_pixel_sums({"cropland": arr}, grid, units)
    inside = _coverage(grid, country)
    per_unit = sum(_coverage(grid, g) for g in units.geometry)
    np.testing.assert_allclose(per_unit, inside, atol=1e-6)
    for code, cls in ((0, "other"), (1, "cropland"), (255, "nodata")):
        units_sum = frac[(frac.adcode != TOTAL_ADCODE) & (frac["class"] == cls)]["pixels"].sum()
        expected = inside[arr == code].sum()
        assert units_sum == pytest.approx(expected, abs=1e-5)
        assert _pixels(frac, TOTAL_ADCODE, "cropland", cls) == pytest.approx(expected, abs=1e-5)

    centre = zonal.unit_pixel_sums({"cropland": arr}, grid, units, method="centre")
    in_country = shapely.contains_xy(country, cx, cy)
    for code, cls in ((0, "other"), (1, "cropland"), (255, "nodata")):
        units_sum = centre[(centre.adcode != TOTAL_ADCODE) & (centre["class"] == cls)][
            "pixels"
        ].sum()
        assert units_sum == _pixels(centre, TOTAL_ADCODE, "cropland", cls)
        assert units_sum == np.count_nonzero(in_country & (arr == code))


def test_sums_over_tiles_and_checks_conservation():
    a = zonal.unit_pixel_sums({"cropland": CROPLAND}, GRID, UNITS)
    shifted = PixelGrid(x_min=90.0, y_max=90.0, res=30.0, width=3, height=3)
    units2 = gpd.GeoDataFrame(
        {"adcode": ["120000"]}, geometry=[shapely.box(40, 20, 180, 90)], crs=ALBERS
    )
    b = zonal.unit_pixel_sums({"cropland": CROPLAND}, shifted, units2)
    parts = []
    for tile, t in (("h000v000", a), ("h001v000", b)):
        t = t.assign(tile=tile, method="fraction", level="province", area_ha=t["pixels"] * 0.09)
        parts.append(t[zonal.PARTIAL_COLUMNS])
    areas = sums.combine_partials(parts)
    crop_b = areas[(areas.adcode == "120000") & (areas["class"] == "cropland")]
    # Tile 1 gives 7/3 px; tile 2 (B covers rows 0-1 whole and a third of row 2):
    # cropland at (0,0), (0,1), (1,1), (1,2) whole and (2,0) a third = 4 1/3 px.
    assert crop_b["pixels"].iloc[0] == pytest.approx(7 / 3 + 13 / 3, abs=1e-6)
    assert crop_b["n_tiles"].iloc[0] == 2
    check = sums.check_conservation(areas)
    assert check["ok"].all()
    assert check["difference_m2"].abs().max() < 1e-3  # single-precision fractions of 900 m2

    broken = areas.copy()
    broken.loc[broken.adcode == "120000", "area_ha"] *= 1.01
    with pytest.raises(DataError, match="conservation broken"):
        sums.check_conservation(broken)
    with pytest.raises(DataError, match="appears twice"):
        sums.combine_partials([parts[0], parts[0]])


def test_overlapping_units_are_counted_once(caplog):
    overlapping = gpd.GeoDataFrame(
        {"adcode": ["120000", "110000"]},
        geometry=[shapely.box(30, 0, 90, 90), shapely.box(0, 0, 60, 90)],
        crs=ALBERS,
    )
    t = zonal.unit_pixel_sums({"cropland": CROPLAND}, GRID, overlapping)
    assert "overlap by 2700.0 m2" in caplog.text  # columns 30-60 m, 90 m high
    # 110000 (smaller adcode) keeps the overlap: columns 0 and 1; 120000 gets column 2.
    assert _pixels(t, "110000", "cropland", "cropland") == pytest.approx(4)
    assert _pixels(t, "120000", "cropland", "cropland") == pytest.approx(1)
    units_sum = t[(t.adcode != TOTAL_ADCODE) & (t["product"] == "cropland")]["pixels"].sum()
    assert units_sum == pytest.approx(9.0)


def test_area_table_is_wide_and_converts_units():
    t = zonal.unit_pixel_sums({"cropland": CROPLAND, "irrigation": IRRIGATION}, GRID, UNITS)
    t = t.assign(tile="h000v000", method="fraction", level="province", area_ha=t["pixels"] * 0.09)
    areas = sums.combine_partials([t[zonal.PARTIAL_COLUMNS]])
    units = UNITS.assign(name=["A", "B"], province_adcode=["110000", "120000"])
    wide = sums.area_table(areas, units, "province")
    a = wide.set_index("adcode").loc["110000"]
    assert a["cropland_ha"] == pytest.approx(8 / 3 * 0.09, abs=1e-7)
    assert a["irrigated_ha"] == pytest.approx(0.09)
    assert a["unit_area_ha"] == pytest.approx(40 * 90 / 1e4)
    assert a["observed_ha"] == pytest.approx(4 * 0.09, abs=1e-7)  # 3 + 3 x 1/3 pixels
    b = wide.set_index("adcode").loc["120000"]
    assert b["mapped_ha"] == pytest.approx(b["observed_ha"] - 0.09 / 3, abs=1e-7)  # nodata third
    assert wide["adcode"].iloc[-1] == TOTAL_ADCODE
    mu = sums.area_table(areas, units, "province", unit="mu")
    assert mu.set_index("adcode").loc["110000", "cropland_mu"] == pytest.approx(
        8 / 3 * 0.09 * 15, abs=1e-6
    )
    assert "cropland_ha" not in mu.columns


def test_bad_class_rasters_are_refused(tmp_path):
    tile = Tile(0, 0, 6)
    grid = tile.grid()
    bad = np.zeros(grid.shape, np.uint8)
    bad[0, :3] = 9
    path = write_grid_raster(tmp_path / "croptype.tif", bad, grid, nodata=255)
    with pytest.raises(DataError, match=r"codes \{9: 3\}.*croptype legend"):
        zonal.read_class_raster(path, "croptype", grid)
    wrong_type = write_grid_raster(tmp_path / "f.tif", bad.astype(np.int16), grid, nodata=255)
    with pytest.raises(InputError, match="expected a uint8 class raster, found int16"):
        zonal.read_class_raster(wrong_type, "cropland", grid)
    other = Tile(1, 0, 6).grid()
    with pytest.raises(GridError, match="not on the expected tile grid"):
        zonal.read_class_raster(path, "croptype", other)
    with pytest.raises(ValueError, match="unknown method"):
        zonal.unit_pixel_sums({"cropland": CROPLAND}, GRID, UNITS, method="majority")
    reserved = UNITS.assign(adcode=["100000", "120000"])
    with pytest.raises(DataError, match="reserves for the national row"):
        zonal.unit_pixel_sums({"cropland": CROPLAND}, GRID, reserved)
